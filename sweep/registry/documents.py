"""One identity document, checked and keyed as the registry keys it: an ID card by GB 11643, any
other document by its type and number. Used for a person registered at the desk (临时登记), so
that the same person is found whether they came through a people sheet or a walk-in form."""

from __future__ import annotations

from dataclasses import dataclass

from sweep.errors import InvalidInput
from sweep.registry.fields import DOC_TYPES, BadCell, parse_other_document
from sweep.registry.idnumber import InvalidIdNumber, mask_id_number, validate_id_number
from sweep.registry.service import id_lookup_hash

DOCUMENT_KINDS = tuple(sorted(set(DOC_TYPES.values())))


@dataclass(frozen=True)
class Document:
    doc_type: str
    number: str  # normalised; never shown, never stored in the clear
    masked: str
    lookup: bytes  # the registry's keyed hash (``people.id_hash``)


def check_document(*, doc_type: str, number: str, key: str, field: str = "id_number") -> Document:
    """The document as the registry would key it, or a refusal naming the field and the reason."""
    if doc_type not in DOCUMENT_KINDS:
        raise InvalidInput("doc_type", f"证件类型应为 {'/'.join(DOCUMENT_KINDS)} (unknown document type): {doc_type!r}")
    if doc_type == "id_card":
        try:
            clean = validate_id_number(number).number
        except InvalidIdNumber as exc:
            raise InvalidInput(field, exc.reason) from exc
        return Document(doc_type, clean, mask_id_number(clean), id_lookup_hash(clean, key=key))
    try:
        clean = parse_other_document(number)
    except BadCell as exc:
        raise InvalidInput(field, exc.reason) from exc
    return Document(doc_type, clean, mask_id_number(clean), id_lookup_hash(f"{doc_type}:{clean}", key=key))
