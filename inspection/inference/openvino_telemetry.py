"""OpenVINO phones home unless told not to: `import openvino` and every conversion (the OpenVINO
export of `.pt` weights) send usage telemetry when no consent file exists, and the service must
never reach out. The one opt-out OpenVINO reads is its consent file (~/intel/openvino_telemetry,
"0"; no environment variable), the file its documented `opt_in_out --opt_out` writes. That
command also sends an "opted out" event, so the file is written here through the library's own
consent checker instead, before openvino is first imported in the process.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

logger = logging.getLogger(__name__)


@cache
def decline_openvino_telemetry() -> Path | None:
    """Record "declined" unless a choice is recorded already (an operator's opt-in stands);
    returns the consent file, or None when it cannot be written (then say so, once)."""
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

    checker = OptInChecker()
    if checker.consent_file_base_dir() is None:  # no home folder: OpenVINO declines by itself
        return None
    consent = Path(checker.consent_file())
    if consent.is_file() and consent.read_text().strip() in ("0", "1"):
        return consent
    if not checker.update_result(ConsentCheckResult.DECLINED):
        logger.warning(
            "could not write OpenVINO's telemetry opt-out to %s: OpenVINO may try to send usage "
            "data (write 0 to that file, or give the service a writable home folder)",
            consent,
        )
        return None
    return consent
