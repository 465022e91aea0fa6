"""People into the registry: validate every row, insert the new, update the changed, list the rest.

Rows are taken in chunks so a million-person file neither sits whole in memory nor waits on a
query per person; columns are checked a column at a time (ID numbers through one NumPy digit
matrix, repeated cells such as 单元 parsed once), and new people go in with COPY (PostgreSQL)
or one executemany (SQLite). A person already in the registry is matched by the keyed hash of
the ID number: the same row again changes nothing; a changed row updates the person and its
old → new values go to the audit log.
"""

from __future__ import annotations

import datetime as dt
import gc
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from functools import partial
from itertools import islice
from operator import attrgetter, itemgetter
from typing import Any, cast

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from sweep.auth.models import AuditEntry
from sweep.db import bulk_insert, in_chunks, is_postgresql
from sweep.registry.bulkload import first_load
from sweep.registry.fields import (
    BadCell,
    all_mobiles,
    fold,
    guess_doc_type,
    parse_date,
    parse_doc_type,
    parse_int,
    parse_other_document,
    parse_phone,
    parse_sex,
    parse_yes_no,
)
from sweep.registry.headers import Header, Row, data_rows
from sweep.registry.idbatch import validate_id_column, ymd_to_date
from sweep.registry.idcrypt import encrypt_id_numbers
from sweep.registry.idnumber import mask_id_number
from sweep.registry.lookup import Areas, Place, load_areas
from sweep.registry.models import Community, Person
from sweep.registry.report import ImportReport
from sweep.registry.service import id_lookup_hash, id_lookup_hashes

CHUNK = 50_000
_LOOKUP_BATCH = 5_000  # under SQLite's limit on bound parameters
_SQLITE_CACHE_KIB = 262_144  # random inserts into the ID-hash index need the index in memory
INSERT_COLUMNS = [
    "building_id", "grid_id", "community_id", "office_id", "name", "doc_type", "id_hash", "id_masked", "id_encrypted",
    "birth_date", "sex", "phone", "unit", "room", "home_sampling", "key_group_id",
]
# Compared on re-import; the building stands for its grid, community and office.
COMPARED = ("building_id", "name", "doc_type", "phone", "unit", "room", "home_sampling", "key_group_id", "sex", "birth_date")
_MISS = object()
_CELLS = itemgetter(1)
_NFKC = partial(unicodedata.normalize, "NFKC")
Progress = Callable[[int], None]
Errors = dict[int, list[tuple[str, str]]]


def _unit(text: str) -> int | None:
    return parse_int(text, what="单元", what_en="unit", suffix="单元")


def _home(text: str) -> bool:
    return parse_yes_no(text, what="上门采样", what_en="home sampling")


def _room(text: str) -> str:
    room = fold(text)
    if len(room) > 16:
        raise BadCell("房号超过16个字符 (room longer than 16 characters)")
    return room


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


class _PeopleImport:
    def __init__(self, *, session: Session, header: Header, areas: Areas, report: ImportReport, key: str,
                 community: Community | None, user_id: int | None, today: dt.date, office_id: int | None = None) -> None:
        self.session, self.header, self.areas, self.report = session, header, areas, report
        self.key, self.community, self.user_id, self.today = key, community, user_id, today
        # An office imports its own people only: a row in another office's building is refused, never written.
        self.office_id = office_id
        self.seen: dict[bytes, int] = {}  # id hash -> first row number
        self.any_existing = session.scalar(select(Person.id).limit(1)) is not None
        self.now = datetime.now()
        # Parsed once per distinct cell: a district has a handful of 单元 and key groups, not a million.
        self.parsers: dict[str, tuple[Callable[[str], Any], bool]] = {
            "phone": (parse_phone, False), "unit": (_unit, True), "room": (_room, True),
            "key_group_id": (areas.key_group, True), "home_sampling": (_home, True), "sex": (parse_sex, True),
            "birth_date": (parse_date, True),
        }
        self.cache: dict[str, dict[str, Any]] = defaultdict(dict)
        self.place_cache: dict[Any, Place | BadCell] = {}  # building cell, or (building, grid, community)

    def column(self, chunk: list[Row], name: str) -> list[str] | None:
        col = self.header.columns.get(name)
        if col is None:
            return None
        try:
            return list(map(str.strip, map(itemgetter(col), map(_CELLS, chunk))))
        except IndexError:  # a short row: the cells its writer left off are blank
            return [cells[col].strip() if col < len(cells) else "" for _n, cells in chunk]

    def run_chunk(self, chunk: list[Row]) -> None:
        n = len(chunk)
        errors: Errors = defaultdict(list)
        numbers = self.column(chunk, "id_number") or [""] * n
        docs = self._doc_types(chunk, numbers, errors)
        hashes, plain, masked, births, sexes = self._documents(chunk, numbers, docs, errors)
        places = self._places(chunk, errors)
        names = list(map(_NFKC, self.column(chunk, "name") or [""] * n))  # cells come stripped
        values = self._values(chunk, errors)
        for i, name in enumerate(names):
            if not name:
                errors[i].append(("name", "姓名为空 (name missing)"))
            elif len(name) > 50:
                errors[i].append(("name", "姓名超过50个字 (name longer than 50 characters)"))
        self._duplicates(chunk, hashes, places, errors)

        updates: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        existing = self.existing
        fresh: list[int] = []
        for i in range(n):
            if i in errors:
                self._reject(*chunk[i], errors[i])
                continue
            old = existing.get(hashes[i]) if existing else None
            if old is None:
                fresh.append(i)
                continue
            place = places[i]
            assert place is not None
            row = {name: col[i] for name, col in values.items() if col[i] is not _MISS}
            row.update(name=names[i], doc_type=docs[i], building_id=place.building_id)
            if births[i] is not None:  # an ID card's own birth date and sex outrank the columns
                row["birth_date"], row["sex"] = births[i], sexes[i]
            self._compare(old, row, place, updates, audits)
            if old["needs_cipher"]:
                updates.append({"pid": old["id"], "id_encrypted": next(encrypt_id_numbers([plain[i]], key=self.key, count=1))})
        if fresh:
            self._insert(fresh, n, places, names, docs, hashes, plain, masked, births, sexes, values)
        if updates:
            self._write_updates(updates)
        if audits:
            self.session.execute(insert(AuditEntry.__table__), audits)

    def _insert(self, fresh: list[int], n: int, places: list[Any], names: list[str], docs: list[str], hashes: list[Any],
                plain: list[str], masked: list[str], births: list[Any], sexes: list[Any], values: dict[str, list[Any]]) -> None:
        """New people, built column by column and zipped: a million rows without a Python loop per field."""
        def pick(col: list[Any]) -> list[Any]:
            return col if len(fresh) == n else [col[i] for i in fresh]

        def given(name: str, blank: Any = None) -> list[Any]:
            col = values.get(name)
            if col is None:
                return [blank] * len(fresh)
            return [blank if v is _MISS else v for v in pick(col)]

        where = pick(places)
        birth_col, sex_col = given("birth_date"), given("sex")
        born = [b if b is not None else c for b, c in zip(pick(births), birth_col, strict=False)]
        sex = [s if b is not None else c for s, b, c in zip(pick(sexes), pick(births), sex_col, strict=False)]
        rows = zip(
            map(attrgetter("building_id"), where), map(attrgetter("grid_id"), where),
            map(attrgetter("community_id"), where), map(attrgetter("office_id"), where),
            pick(names), pick(docs), pick(hashes), pick(masked),
            encrypt_id_numbers(pick(plain), key=self.key, count=len(fresh)),
            # ISO text, as SQLAlchemy stores dates on SQLite; sqlite3's own date adapter is a Python call a row.
            [None if b is None else b.isoformat() for b in born], sex,
            given("phone"), given("unit"), given("room"), given("home_sampling", False), given("key_group_id"), strict=False,
        )
        bulk_insert(self.session.connection(), "people", INSERT_COLUMNS, rows)
        self.report.imported += len(fresh)

    def _doc_types(self, chunk: list[Row], numbers: list[str], errors: Errors) -> list[str]:
        given = self.column(chunk, "doc_type")
        docs = ["id_card" if s[:17].isdigit() else guess_doc_type(s) for s in numbers]
        if given is not None:
            cache = self.cache["doc_type"]
            for i, s in enumerate(given):
                if not s:
                    continue
                doc = cache.get(s, _MISS)
                if doc is _MISS:
                    try:
                        doc = parse_doc_type(s)
                    except BadCell as exc:
                        doc = exc
                    cache[s] = doc
                if isinstance(doc, BadCell):
                    errors[i].append(("doc_type", doc.reason))
                else:
                    docs[i] = doc
        return docs

    def _documents(self, chunk: list[Row], numbers: list[str], docs: list[str],
                   errors: Errors) -> tuple[list[Any], list[str], list[str], list[dt.date | None], list[str | None]]:
        n = len(numbers)
        hashes: list[Any] = [None] * n
        plain = [""] * n
        masked = [""] * n
        births: list[dt.date | None] = [None] * n
        sexes: list[str | None] = [None] * n
        cards = [i for i in range(n) if docs[i] == "id_card"]
        checked = validate_id_column([numbers[i] for i in cards], today=self.today)
        key = self.key
        if len(cards) == n and not any(checked.reason) and not any(checked.warning):
            # The usual chunk: every row an ID card, every number good. Whole columns at once.
            ymd = checked.birth_ymd.tolist()
            day = {v: ymd_to_date(v) for v in set(ymd)}
            plain = cast(list[str], checked.number)  # no reason given: every number is there
            masked = [x[:6] + "********" + x[-4:] for x in plain]
            return id_lookup_hashes(plain, key=key), plain, masked, list(map(day.__getitem__, ymd)), checked.sex
        dates: dict[int, dt.date] = {}
        good = []
        for k, i in enumerate(cards):
            number = checked.number[k]
            if number is None:
                errors[i].append(("id_number", checked.reason[k] or ""))
                continue
            good.append(i)
            plain[i] = number
            ymd = int(checked.birth_ymd[k])
            births[i] = dates.get(ymd) or dates.setdefault(ymd, ymd_to_date(ymd))
            sexes[i] = checked.sex[k]
            if checked.warning[k]:
                self.report.warn(chunk[i][0], "id_number", checked.warning[k] or "")
        for i, h in zip(good, id_lookup_hashes([plain[i] for i in good], key=key), strict=False):
            hashes[i] = h
            number = plain[i]
            masked[i] = number[:6] + "********" + number[-4:]
        for i in range(n):
            if docs[i] == "id_card":
                continue
            try:
                number = parse_other_document(numbers[i])
            except BadCell as exc:
                errors[i].append(("id_number", exc.reason))
                continue
            plain[i] = number
            hashes[i] = id_lookup_hash(f"{docs[i]}:{number}", key=key)
            masked[i] = mask_id_number(number)
        return hashes, plain, masked, births, sexes

    def _places(self, chunk: list[Row], errors: Errors) -> list[Place | None]:
        n = len(chunk)
        buildings = self.column(chunk, "building") or [""] * n
        grids = self.column(chunk, "grid") or [""] * n
        communities = self.column(chunk, "community") or [""] * n
        cache = self.place_cache
        # Without grid or community columns the building cell alone is the key: no million tuples.
        plain_key = "grid" not in self.header.columns and "community" not in self.header.columns
        keys: list[Any] = buildings if plain_key else list(zip(buildings, grids, communities, strict=False))
        for key in set(keys).difference(cache):
            cache[key] = self._place(*key) if isinstance(key, tuple) else self._place(key, "", "")
        found = list(map(cache.__getitem__, keys))
        if not any(isinstance(cache[k], BadCell) for k in set(keys)):
            return cast(list[Place | None], found)  # every cell named a building
        places: list[Place | None] = []
        for i, place in enumerate(found):
            if isinstance(place, BadCell):
                errors[i].append((place.field or "building", place.reason))
                places.append(None)
            else:
                places.append(place)
        return places

    def _place(self, text: str, grid: str, community: str) -> Place | BadCell:
        scope = self.community
        try:
            grid_id = self.areas.grid_id(grid) if grid else None
            community_id = self.areas.community_id(community) if community else (scope.id if scope else None)
            place = self.areas.building(text, grid_id=grid_id, community_id=community_id)
        except BadCell as exc:
            return exc
        if community and community_id != place.community_id:
            return BadCell(
                f"楼栋 {place.code} 不在所填社区 (building {place.code} is not in the community given): {community}",
                field="community",
            )
        if scope is not None and place.community_id != scope.id:
            return BadCell(f"楼栋 {place.code} 不属于社区 {scope.code} (building {place.code} is not in community {scope.code})")
        if self.office_id is not None and place.office_id != self.office_id:
            return BadCell(f"楼栋 {place.code} 不在本办事处辖区 (building {place.code} is outside your office)")
        return place

    def _values(self, chunk: list[Row], errors: Errors) -> dict[str, list[Any]]:
        """Optional columns, parsed; a blank cell is _MISS: it never erases what the registry holds."""
        out: dict[str, list[Any]] = {}
        for name, (parse, cached) in self.parsers.items():
            col = self.column(chunk, "key_group" if name == "key_group_id" else name)
            if col is None:
                continue
            if name == "phone" and all_mobiles(col):
                out[name] = [v or _MISS for v in col]
                continue
            field_name = "key_group" if name == "key_group_id" else name
            if not cached:
                parsed: list[Any] = [_MISS] * len(col)
                for i, s in enumerate(col):
                    if s:
                        try:
                            parsed[i] = parse(s)
                        except BadCell as exc:
                            errors[i].append((field_name, exc.reason))
                out[name] = parsed
                continue
            cache = self.cache[name]
            cache.setdefault("", _MISS)
            for s in set(col).difference(cache):
                try:
                    cache[s] = parse(s)
                except BadCell as exc:
                    cache[s] = exc
            parsed = list(map(cache.__getitem__, col))
            if any(isinstance(cache[s], BadCell) for s in set(col)):
                for i, value in enumerate(parsed):
                    if isinstance(value, BadCell):
                        errors[i].append((field_name, value.reason))
                        parsed[i] = _MISS
            out[name] = parsed
        return out

    def _duplicates(self, chunk: list[Row], hashes: list[Any], places: list[Place | None], errors: Errors) -> None:
        """Duplicates within the file, and numbers already registered in another community."""
        seen = self.seen
        valid = [i for i, h in enumerate(hashes) if h is not None]
        fresh = {hashes[i] for i in valid}
        if len(fresh) == len(valid) and fresh.isdisjoint(seen):
            seen.update((hashes[i], chunk[i][0]) for i in valid)
        else:
            for i in valid:
                h = hashes[i]
                first = seen.get(h)
                if first is not None:
                    errors[i].append(("id_number", f"与第{first}行重复 (duplicate of row {first})"))
                else:
                    seen[h] = chunk[i][0]
        self.existing = self._existing([h for i, h in enumerate(hashes) if h is not None and i not in errors])
        if not self.existing:
            return
        for i, h in enumerate(hashes):
            old = self.existing.get(h) if h is not None else None
            place = places[i]
            if old is not None and place is not None and old["community_id"] != place.community_id:
                where = self.areas.grid_of.get(old["building_id"])
                code = where.code if where else str(old["building_id"])
                errors[i].append((
                    "id_number",
                    f"此证件号已登记在其他社区的楼栋 {code} (same ID number already registered in building {code} "
                    "of another community)",
                ))

    def _existing(self, hashes: list[bytes]) -> dict[bytes, dict[str, Any]]:
        if not self.any_existing or not hashes:
            return {}
        cols = [Person.id, Person.id_hash, Person.community_id, *(getattr(Person, c) for c in COMPARED), Person.id_encrypted.is_(None)]
        found: dict[bytes, dict[str, Any]] = {}
        for batch in in_chunks(hashes, _LOOKUP_BATCH):
            for pid, h, community_id, *rest in self.session.execute(select(*cols).where(Person.id_hash.in_(batch))):
                found[bytes(h)] = {"id": pid, "community_id": community_id, **dict(zip(COMPARED, rest[:-1], strict=False)),
                                   "needs_cipher": bool(rest[-1])}
        return found

    def _compare(self, old: dict[str, Any], new: dict[str, Any], place: Place, updates: list, audits: list) -> None:
        changes: dict[str, list[Any]] = {}
        for name in COMPARED:
            if name not in new or new[name] == old[name]:
                continue
            if name == "building_id":
                was = self.areas.grid_of.get(old[name])
                changes["building"] = [was.code if was else old[name], place.code]
            else:
                changes[name] = [_plain(old[name]), _plain(new[name])]
        if not changes:
            self.report.unchanged += 1
            return
        self.report.updated += 1
        values = {name: new[name] for name in COMPARED if name in new}
        values.update(grid_id=place.grid_id, community_id=place.community_id, office_id=place.office_id)
        updates.append({"pid": old["id"], **values})
        audits.append({
            "at": self.now, "user_id": self.user_id, "campaign_id": None, "action": "registry.person.update",
            "entity": "person", "entity_id": old["id"], "detail": {"changes": changes, "file": self.report.filename},
        })

    def _write_updates(self, updates: list[dict[str, Any]]) -> None:
        # One executemany per shape of change; a Core UPDATE keeps the ORM out of the bulk path.
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for u in updates:
            by_shape[tuple(sorted(u))].append(u)
        table = Person.__table__
        for shape, batch in by_shape.items():
            stmt = update(table).where(table.c.id == bindparam("pid")).values(
                **{k: bindparam(f"v_{k}") for k in shape if k != "pid"}
            )
            self.session.execute(stmt, [{"pid": u["pid"], **{f"v_{k}": v for k, v in u.items() if k != "pid"}} for u in batch])

    def _reject(self, number: int, cells: list[str], errors: list[tuple[str, str]]) -> None:
        for field_name, reason in errors:
            self.report.reject(number, field_name, reason)
        col = self.header.columns.get("id_number")
        shown = [c.strip() for c in cells]
        if col is not None and col < len(shown) and shown[col]:
            shown[col] = mask_id_number(shown[col])
        self.report.bad_rows.append((number, shown))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def import_people(
    *,
    session: Session,
    rows: Iterable[Row],
    report: ImportReport,
    key: str,
    community: Community | None = None,
    user_id: int | None = None,
    today: dt.date | None = None,
    progress: Progress | None = None,
    office_id: int | None = None,
) -> ImportReport:
    """Fill ``report`` from the rows; writes into the session's transaction and never commits.

    With ``office_id`` (an office's own import) every row outside that office is rejected.
    """
    header, rest = data_rows(rows, "people", report)
    session.flush()
    job = _PeopleImport(session=session, header=header, areas=load_areas(session), report=report, key=key,
                        community=community, user_id=user_id, today=today or dt.date.today(), office_id=office_id)
    sqlite = not is_postgresql(session)
    if sqlite:
        old_cache = session.execute(text("PRAGMA cache_size")).scalar_one()
        session.execute(text(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}"))
    # A million rows are millions of small lists and strings, all alive together: the cyclic
    # collector would walk them again and again (three quarters of the time of reading a CSV).
    # Nothing here needs it; reference counting still frees what each chunk leaves behind.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with first_load(session, Person.__table__):
            for chunk in _chunks(rest, CHUNK):  # blank rows are skipped, their numbers kept
                report.rows += len(chunk)
                job.run_chunk(chunk)
                if progress:
                    progress(report.rows)
    finally:
        if collecting:
            gc.enable()
        if sqlite:
            session.execute(text(f"PRAGMA cache_size={int(old_cache)}"))
    session.expire_all()
    return report


__all__ = ["CHUNK", "import_people"]
