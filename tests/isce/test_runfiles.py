"""Run files in topsStack's real text format, parsed into one command per job."""

from __future__ import annotations

from pathlib import Path

from insarflow.isce.runfiles import command_lines, parse_run_files, parse_step

W = "/data/work"

# Stack.py with --num_proc 2 and three misreg pairs: batches of two with `wait` and a blank
# line, and the last batch ends with `&` and no `wait` (the quirk).
PAIRS_MISREG_NUM_PROC_2 = f"""\
SentinelWrapper.py -c {W}/configs/config_misreg_20200101_20200113 &
SentinelWrapper.py -c {W}/configs/config_misreg_20200101_20200125 &
wait

SentinelWrapper.py -c {W}/configs/config_misreg_20200113_20200125 &
"""


def test_ampersands_waits_and_blank_lines_are_dropped_including_the_unterminated_batch():
    assert command_lines(PAIRS_MISREG_NUM_PROC_2) == [
        f"SentinelWrapper.py -c {W}/configs/config_misreg_20200101_20200113",
        f"SentinelWrapper.py -c {W}/configs/config_misreg_20200101_20200125",
        f"SentinelWrapper.py -c {W}/configs/config_misreg_20200113_20200125",
    ]


def test_text_cmd_prefix_is_stripped_from_every_line():
    text = (
        f"source ~/.bashrc; invertMisreg.py -i {W}/misreg/azimuth/pairs/ -o {W}/misreg/azimuth/dates/\n"
        f"source ~/.bashrc; invertMisreg.py -i {W}/misreg/range/pairs/ -o {W}/misreg/range/dates/\n"
    )
    assert command_lines(text, "source ~/.bashrc; ") == [
        f"invertMisreg.py -i {W}/misreg/azimuth/pairs/ -o {W}/misreg/azimuth/dates/",
        f"invertMisreg.py -i {W}/misreg/range/pairs/ -o {W}/misreg/range/dates/",
    ]


def test_interferogram_network_commands_carry_their_pair_and_others_do_not():
    unwrap = parse_step(
        "run_16_unwrap",
        f"SentinelWrapper.py -c {W}/configs/config_igram_unw_20200101_20200113\n"
        f"SentinelWrapper.py -c {W}/configs/config_igram_unw_20200113_20200125\n",
    )
    assert [(c.index, c.pair) for c in unwrap.commands] == [
        (1, ("20200101", "20200113")),
        (2, ("20200113", "20200125")),
    ]
    misreg = parse_step("run_07_pairs_misreg", PAIRS_MISREG_NUM_PROC_2)
    assert [c.pair for c in misreg.commands] == [None, None, None]  # coregistration network
    assert misreg.kind == "pairs_misreg"


def test_every_line_is_one_command_also_in_compute_ion():
    ion = f"{W}/ion/20200101_20200113"
    text = (
        f"computeIon.py --lower {ion}/lower/merged_IW1/fine_look.unw --ionosphere "
        f"{ion}/ion_cal_IW1/raw_no_projection.ion\n"
        f"mergeSwathIon.py --reference {W}/reference --stack {W}/stack --input {ion} "
        f"--output {ion}/ion_cal --nrlks 1 --nalks 1 --remove_ramp 0\n"
    )
    step = parse_step("run_22_computeIon", text)
    assert [command.lines for command in step.commands] == [[line] for line in text.splitlines()]


def test_run_files_are_ordered_by_number_and_other_files_ignored(tmp_path: Path):
    (tmp_path / "run_10_fullBurst_resample").write_text("SentinelWrapper.py -c a\n")
    (tmp_path / "run_09_fullBurst_geo2rdr").write_text("SentinelWrapper.py -c b\n")
    (tmp_path / "run_09_fullBurst_geo2rdr.job").write_text("#!/bin/bash\n")
    steps = parse_run_files(tmp_path)
    assert [step.name for step in steps] == [
        "run_09_fullBurst_geo2rdr",
        "run_10_fullBurst_resample",
    ]
