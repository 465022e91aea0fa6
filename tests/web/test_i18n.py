"""Every string a page shows in Chinese has its English in the catalog."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from sweep.web import i18n

ROOT = Path(__file__).resolve().parents[2]


def test_every_page_string_is_translated():
    method_map = [("sweep/web/templates/**.html", "jinja2"), ("sweep/**.py", "python")]
    options = {"sweep/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {message for _file, _line, message, _comments, _ctx in extract_from_dir(str(ROOT), method_map, options)}
    found = {m if isinstance(m, str) else m[0] for m in found}
    assert "覆盖率" in found
    english = i18n.translations("en")
    missing = sorted(m for m in found if english.gettext(m) == m)
    assert missing == [], f"not translated in sweep/web/locale/en/LC_MESSAGES/messages.po: {missing}"


def test_language_choice():
    assert i18n.choose(None, None) == "zh"
    assert i18n.choose("en", "zh") == "en"
    assert i18n.choose(None, "en") == "en"
    assert i18n.choose("fr", None) == "zh"
