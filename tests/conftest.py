import os
import sys
from pathlib import Path

# Tests never see whatever plugins happen to be installed: every external plugin is disabled
# (tests that need one register it explicitly). The built-ins stay.
os.environ["GSIM_DISABLE_PLUGINS"] = "*"

# tests import their helpers (twin.py, helpers.py) by module name
sys.path.insert(0, str(Path(__file__).parent))
