"""The Linux desktop integration files and the app icon are complete and valid."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
APP_ID = "io.github.dlstudio.DLStudio"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(PACKAGING / f"{APP_ID}.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_launches_the_installed_command_with_our_icon():
    entry = desktop_entry()
    assert entry["Type"] == "Application" and entry["Name"] == "DL Studio"
    assert entry["Exec"].split()[0] == "dlstudio" and entry["Icon"] == "dlstudio"
    assert "application/x-dlstudio-project" in entry["MimeType"]
    assert entry["Terminal"] == "false"
    mime = ET.parse(PACKAGING / "dlstudio-mime.xml").getroot()
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    assert mime.find("m:mime-type", ns).get("type") == "application/x-dlstudio-project"
    assert mime.find("m:mime-type/m:glob", ns).get("pattern") == "*.dlsproj"


def test_metainfo_names_the_desktop_file_and_the_version():
    from dlstudio import __version__

    root = ET.parse(PACKAGING / f"{APP_ID}.metainfo.xml").getroot()
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    assert root.find("releases/release").get("version") == __version__
    assert root.findtext("provides/binary") == "dlstudio"


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_validates():
    done = subprocess.run(["desktop-file-validate", str(PACKAGING / f"{APP_ID}.desktop")], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stdout


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_metainfo_validates():
    done = subprocess.run(["appstreamcli", "validate", "--no-net", str(PACKAGING / f"{APP_ID}.metainfo.xml")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_icon_svg_and_png_sizes_exist_and_match():
    from PIL import Image

    icons = ROOT / "resources" / "icons"
    svg = ET.parse(icons / "dlstudio.svg").getroot()
    assert svg.get("viewBox") == "0 0 256 256"
    for size in (16, 32, 48, 128, 256, 512):
        with Image.open(icons / "hicolor" / f"{size}x{size}" / "apps" / "dlstudio.png") as im:
            assert im.size == (size, size) and im.mode == "RGBA"
            assert im.getpixel((0, 0))[3] == 0 and im.getpixel((size // 2, size // 2))[3] == 255  # a tile
