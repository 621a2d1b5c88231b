"""What one topsStack run-file command reads and writes, worked out from its arguments.

A ``SentinelWrapper.py -c CFG`` line runs the functions of its config file in order; each
function is a topsStack module whose options name its inputs and outputs (configparser keys,
see the reference notes §2.3). The plain commands (``subsetReference.py``,
``invertMisreg.py``, ``extractCommonValidRegion.py``, ``computeIon.py``,
``mergeSwathIon.py``, ``invertIon.py``) name them on their command line. The tables below
say, per module or program, which options are read and which are written: that is knowledge of
the programs' interfaces, not of run-file step names, so it holds for every workflow
(interferogram, correlation, offset, slc), coregistration, update mode and ionosphere set-up.

Paths are compared as path prefixes (a directory covers everything below it) and as file stems
(``merged/SLC/d/d.slc`` covers ``d.slc.full``): a command that reads a directory (invertMisreg
reads ``misreg/azimuth/pairs/``) therefore depends on every command that writes below it.

A command whose program, module or config cannot be read returns ``None``: the caller then
makes it wait for everything before it and lets everything after it wait for it.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
from dataclasses import dataclass, field

# module -> (options read, options written); options not listed are settings, not paths.
MODULE_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Sentinel1_TOPS": (("dirname", "orbit", "orbitdir", "auxdir", "aux"), ("outdir",)),
    "topo": (("reference", "dem"), ("geom_referenceDir",)),
    "computeBaseline": (("reference", "secondary"), ("baseline_file",)),
    "baselineGrid": (("reference", "secondary"), ("baseline_file",)),
    "geo2rdr": (
        ("reference", "secondary", "geom_referenceDir", "azimuth_misreg", "range_misreg"),
        ("coregSLCdir",),
    ),
    # resamp_withCarrier reads the offsets that geo2rdr wrote into coregdir
    "resamp_withCarrier": (
        ("reference", "secondary", "coregdir", "azimuth_misreg", "range_misreg"),
        ("coregdir",),
    ),
    "generateIgram": (("reference", "secondary"), ("interferogram",)),
    "overlap_withDEM": (("interferogram", "reference_dir", "secondary_dir"), ("overlap_dir",)),
    "estimateAzimuthMisreg": (("overlap_dir",), ("out_azimuth",)),
    "estimateRangeMisreg": (("reference", "secondary"), ("out_range",)),
    "mergeBursts": (("inp_reference", "dirname", "stack"), ("outfile",)),
    "FilterAndCoherence": (("input", "slc1", "slc2"), ("filt", "coh", "complex_coh")),
    "unwrap": (("ifg", "coh", "reference"), ("unw",)),
    "denseOffsets": (("reference", "secondary"), ("outprefix",)),
    "subband": (("directory",), ("directory",)),
    "subband_and_resamp": (
        ("reference", "secondary", "coregdir", "azimuth_misreg", "range_misreg"),
        ("coregdir",),
    ),
    "mergeBurstsIon": (("reference", "dirname", "stack"), ("outfile",)),
    "coherenceIon": (("lower", "upper"), ("coherence",)),
    "lookUnwIon": (("unw", "cor"), ("output",)),
    "filtIon": (("input", "coherence"), ("output",)),
    "filtIonShift": (
        ("reference_stack", "reference", "secondary", "input", "coherence"),
        ("output",),
    ),
    "burstRampIon": (("reference_stack", "input"), ("output",)),
}

# program -> (options read, options written); "--x" and "-x" spellings of one option.
PROGRAM_IO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "invertMisreg.py": (("-i", "--input"), ("-o", "--output")),
    "computeIon.py": (
        ("-l", "--lower", "-u", "--upper", "-c", "--coherence"),
        ("-i", "--ionosphere", "-o", "--coherence_output"),
    ),
    "mergeSwathIon.py": (
        ("-c", "--reference", "-s", "--stack", "-i", "--input"),
        ("-o", "--output"),
    ),
    "invertIon.py": (("--idir", "--merged_geom"), ("--odir",)),
}
_DATES = re.compile(r"(\d{8})(?:[_-](\d{8}))?$")


@dataclass
class CommandIO:
    """Absolute paths a command reads and writes, and the date or pair it works on."""

    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    unit: str | None = None  # "YYYYMMDD" or "YYYYMMDD_YYYYMMDD" from the config name


def _program(tokens: list[str]) -> tuple[str, list[str]] | None:
    """The topsStack program of a command line and its arguments (``python3 X.py`` too)."""
    for position, token in enumerate(tokens):
        name = os.path.basename(token)
        if name.endswith(".py"):
            return name, tokens[position + 1 :]
        if not (name.startswith("python") or "=" in token):
            return None
    return None


def _options(arguments: list[str]) -> dict[str, list[str]]:
    """``--key value`` / ``--key=value`` / ``-k value`` pairs; a flag without value maps to []."""
    options: dict[str, list[str]] = {}
    key = None
    for token in arguments:
        if token.startswith("-") and not _is_number(token):
            name, equals, value = token.partition("=")
            key = name
            options.setdefault(key, [])
            if equals:
                options[key].append(value)
                key = None
        elif key is not None:
            options[key].append(token)
    return options


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _absolute(path: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))


def _wrapper_io(arguments: list[str], cwd: str) -> CommandIO | None:
    options = _options(arguments)
    if len(options.get("-c", [])) != 1:
        return None
    config_file = _absolute(options["-c"][0], cwd)
    parser = configparser.ConfigParser()
    parser.optionxform = str  # SentinelWrapper keeps the case of option names
    try:
        with open(config_file) as handle:
            parser.read_file(handle)
    except (OSError, configparser.Error):
        return None
    sections = parser.sections()[1:]  # [Common] first, then [Function-N]
    start, end = options.get("-s", []), options.get("-e", [])
    if start and end and start[0] in sections and end[0] in sections:
        sections = sections[sections.index(start[0]) : sections.index(end[0]) + 1]
    io = CommandIO()
    for section in sections:
        items = list(parser.items(section))
        if not items or items[0][0] not in MODULE_IO:
            return None
        reads, writes = MODULE_IO[items[0][0]]
        values = {key: value.strip() for key, value in items[1:]}
        for keys, target in ((reads, io.reads), (writes, io.writes)):
            for key in keys:
                for path in values.get(key, "").split():
                    if path not in ("True", "False"):
                        target.append(_absolute(path, cwd))
    match = _DATES.search(os.path.basename(config_file))
    if match:
        io.unit = "_".join(filter(None, match.groups()))
    return io


def _plain_io(program: str, arguments: list[str], cwd: str) -> CommandIO | None:
    options = _options(arguments)
    if program == "subsetReference.py":
        reference = (options.get("-m") or options.get("--reference") or [None])[0]
        geometry = (options.get("-g") or options.get("--geomReference") or [None])[0]
        overlap = (options.get("-o") or options.get("--overlapDir") or ["overlap"])[0]
        if not reference or not geometry:
            return None
        reference, geometry = _absolute(reference, cwd), _absolute(geometry, cwd)
        return CommandIO(
            reads=[reference, geometry],
            writes=[os.path.join(reference, overlap), os.path.join(geometry, overlap)],
        )
    if program == "extractCommonValidRegion.py":
        reference = (options.get("-m") or options.get("--reference") or [None])[0]
        secondary = (options.get("-s") or options.get("--secondary") or [None])[0]
        if not reference or not secondary:
            return None
        reference = _absolute(reference, cwd)
        # it writes stack/ beside the reference directory
        return CommandIO(
            reads=[reference, _absolute(secondary, cwd)],
            writes=[os.path.join(os.path.dirname(reference), "stack")],
        )
    if program not in PROGRAM_IO:
        return None
    reads, writes = PROGRAM_IO[program]
    io = CommandIO()
    for keys, target in ((reads, io.reads), (writes, io.writes)):
        for key in keys:
            target.extend(_absolute(value, cwd) for value in options.get(key, []))
    return io if io.writes else None


def command_io(line: str, work_dir: str) -> CommandIO | None:
    """What ``line`` (a run-file command without text_cmd or ``&``) reads and writes, or None
    when that cannot be worked out (an unknown program or module, an unreadable config)."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        return None
    if any(token in (";", "&&", "||", "|") for token in tokens):
        return None
    found = _program(tokens)
    if found is None:
        return None
    program, arguments = found
    if program == "SentinelWrapper.py":
        return _wrapper_io(arguments, work_dir)
    return _plain_io(program, arguments, work_dir)
