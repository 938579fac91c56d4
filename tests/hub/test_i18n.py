"""Every page string ships in English and Simplified Chinese."""

import gettext
import subprocess
from pathlib import Path

from django.utils import translation

PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_string_has_a_chinese_translation():
    report = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)], capture_output=True, text=True, check=True
    ).stderr
    assert "translated message" in report
    assert "untranslated" not in report and "fuzzy" not in report, report


def test_compiled_catalog_matches_the_source(tmp_path):
    rebuilt = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(rebuilt), str(PO)], check=True)
    with PO.with_suffix(".mo").open("rb") as shipped, rebuilt.open("rb") as fresh:
        assert gettext.GNUTranslations(shipped)._catalog == gettext.GNUTranslations(fresh)._catalog


def test_chinese_is_served_for_zh_hans():
    with translation.override("zh-hans"):
        assert translation.gettext("Overview") == "概览"
        assert translation.gettext("Log in") == "登录"
