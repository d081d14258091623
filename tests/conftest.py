import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The disk caches (the layer catalog, the shapes Keras gave) of a test session stay out of the
# user's own cache folder; the commands the tests start inherit it.
if not os.environ.get("DLSTUDIO_CACHE_DIR"):
    os.environ["DLSTUDIO_CACHE_DIR"] = tempfile.mkdtemp(prefix="dlstudio-test-cache-")
    atexit.register(shutil.rmtree, os.environ["DLSTUDIO_CACHE_DIR"], True)
