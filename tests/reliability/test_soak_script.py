"""``benchmarks/soak.py`` runs end to end on a few batches and reports consistent figures."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_soak_reports_memory_figures_and_reads_every_entry_back(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import soak

    result = soak.main(["--batches", "40", "--every", "5", "--warmup", "10",
                        "--dir", str(tmp_path), "--out", str(tmp_path / "soak.json")])
    assert result["entries_read_back"] == {"spikes": 320, "v": 320}
    assert result["entries_expected"] == 320
    assert [b for b, _ in result["rss_samples"]] == [0, 5, 10, 15, 20, 25, 30, 35, 39]
    samples_after = [r for b, r in result["rss_samples"] if b >= 10]
    assert result["rss_after_warmup_bytes"] == samples_after[0]
    assert result["rss_max_bytes"] == max(samples_after)
    assert result["within_bound"] == (result["rss_max_bytes"] <= result["bound_bytes"])
    assert result["bound_bytes"] == result["rss_after_warmup_bytes"] + 20 * 2**20
    assert list(tmp_path.iterdir()) == [tmp_path / "soak.json"]  # the stream folder is removed
