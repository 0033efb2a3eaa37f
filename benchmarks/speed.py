#!/usr/bin/env python
"""``benchmarks/speed.py ARGS`` is ``radseg bench ARGS`` (docs/BENCHMARKS.md).

    python benchmarks/speed.py --preset voc_mid --device cuda

The interface changed: the old script timed one synthetic image of ``--size H W`` with
``--classes K`` and a window ``--preset low|mid|high``; ``radseg bench`` times dataset presets
at their real image sizes and class counts, so those flags have no faithful mapping. An old
flag is refused with one line naming the new spelling (where there is one), never guessed.
"""
import sys

#: old flag -> what to use now
OLD_FLAGS = {
    "--size": "no equivalent: each --preset times its dataset's real image size (voc 375x500, "
              "cityscapes 1024x2048, ...)",
    "--classes": "no equivalent: the class count is the preset dataset's (voc 20, context 59, "
                 "coco_stuff 171, cityscapes 19, ade20k 150)",
    "--sam-refine": "--refine on",
    "--sam-ckpt": "--sam CKPT",
    "--amp": "--mode fast (bf16 and more; --mode both times it next to exact)",
    "--lang_model": "no equivalent: each version's own language adaptor is timed",
}
OLD_PRESETS = {"low": "voc_low", "mid": "voc_mid", "high": "voc_high"}


def old_flag_error(argv):
    """The one-line message for the first old-interface flag in ``argv`` (None if there is none)."""
    for i, a in enumerate(argv):
        flag = a.split("=", 1)[0]
        if flag in OLD_FLAGS:
            return f"{flag} is from the old benchmarks/speed.py, whose interface changed (it is now `radseg bench`): " \
                   f"use {OLD_FLAGS[flag]}. See docs/BENCHMARKS.md."
        if flag == "--preset":
            vals = [a.split("=", 1)[1]] if "=" in a else argv[i + 1:i + 2]
            for v in vals:
                if v in OLD_PRESETS:
                    return f"--preset {v} is from the old benchmarks/speed.py (window sizes only); presets are now " \
                           f"dataset x resolution, e.g. --preset {OLD_PRESETS[v]}. See docs/BENCHMARKS.md."
    return None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    err = old_flag_error(argv)
    if err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from radseg.bench.cli import main as bench_main
    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
