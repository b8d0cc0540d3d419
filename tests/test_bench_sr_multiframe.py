"""bench_sr_multiframe: every revisit of every scene its own seed (so its own shift and noise),
the test scene's revisit 0 bench_sr_synth.py's input."""

from __future__ import annotations

from benchmarks.bench_sr_multiframe import REVISITS, SCENES, revisit_seed


def test_no_two_revisits_share_a_seed_and_the_test_input_is_kept() -> None:
    for train_revisits in (REVISITS, 32):
        seeds = [
            revisit_seed(name, seed) + n
            for name, (seed, _) in SCENES.items()
            for n in range(train_revisits if name.startswith("train") else REVISITS)
        ]
        assert len(set(seeds)) == len(seeds), train_revisits
    assert revisit_seed("test", SCENES["test"][0]) == 109  # bench_sr_synth.py: seed + 100
