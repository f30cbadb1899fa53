"""The hsprobe test driver as the harness sees it: build artifacts, inspection, telemetry.

- `artifact`: the manifest `make -C drivers` (or `make -C drivers linux`, the stand-in) writes
  and the dist directory it describes.
- `inspection`: pefile checks of an image (pefile is imported only when inspecting).
- `telemetry`: the decoder of the driver's binary telemetry into trace records.
- `commands`: the hsprobectl command line for each action (the same on Windows and Linux).

Nothing here loads or runs the driver; see drivers/README.md for what a Windows guest must
confirm on the first real run.
"""

from harness.driver.artifact import DriverBuild, Manifest, ManifestEntry, load_manifest
from harness.driver.inspection import Finding, Inspection, Verdict, inspect_image
from harness.driver.telemetry import Telemetry, decode_telemetry

__all__ = [
    "DriverBuild",
    "Finding",
    "Inspection",
    "Manifest",
    "ManifestEntry",
    "Telemetry",
    "Verdict",
    "decode_telemetry",
    "inspect_image",
    "load_manifest",
]
