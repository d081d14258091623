#!/usr/bin/env bash
# Build the DL Studio application folder with PyInstaller and check that it runs.
#
#   packaging/build.sh [DIST_DIR]        (default: dist/)
#
# Result: DIST_DIR/dlstudio/dlstudio (the program: the window without arguments,
# the command line with them) and DIST_DIR/dlstudio/share/ with the .desktop file,
# the AppStream metainfo, the MIME type of .dlsproj files and the icons, laid out
# as under /usr or ~/.local:
#
#   cp -r DIST_DIR/dlstudio/share/* ~/.local/share/ && ln -s "$PWD/DIST_DIR/dlstudio/dlstudio" ~/.local/bin/
#
# Needs: pip install 'dlstudio[packaging]' (PyInstaller) in the Python that runs the app.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
DIST="$(realpath -m "${1:-$ROOT/dist}")"
WORK="${DLSTUDIO_BUILD_DIR:-$ROOT/build/pyinstaller}"
PYTHON="${PYTHON:-python3}"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN --distpath "$DIST" --workpath "$WORK" \
    "$HERE/dlstudio.spec"

APP="$DIST/dlstudio"
SHARE="$APP/share"
install -Dm644 "$HERE/io.github.dlstudio.DLStudio.desktop" "$SHARE/applications/io.github.dlstudio.DLStudio.desktop"
install -Dm644 "$HERE/io.github.dlstudio.DLStudio.metainfo.xml" "$SHARE/metainfo/io.github.dlstudio.DLStudio.metainfo.xml"
install -Dm644 "$HERE/dlstudio-mime.xml" "$SHARE/mime/packages/dlstudio.xml"
install -Dm644 "$ROOT/resources/icons/dlstudio.svg" "$SHARE/icons/hicolor/scalable/apps/dlstudio.svg"
for png in "$ROOT"/resources/icons/hicolor/*/apps/dlstudio.png; do
    size="$(basename "$(dirname "$(dirname "$png")")")"
    install -Dm644 "$png" "$SHARE/icons/hicolor/$size/apps/dlstudio.png"
done

version="$("$APP/dlstudio" --version)"
echo "built $APP ($version) in $(( $(date +%s) - start )) s, $(du -sh "$APP" | cut -f1)"
