"""Render results.json (evaluate.py) and latency_*.json (latency.py) as Markdown tables.

    python eval/reader-lab/report.py > eval/reader-lab/results_tables.md
"""

from __future__ import annotations

import json

from common import HERE
from evaluate import HEADER, summary_row


def main() -> None:
    results = json.load(open(HERE / "results.json"))
    print("## Quality (SQuAD-only training; WikiQA test; held-out SQuAD articles)\n")
    print(HEADER)
    for r in results.values():
        print(summary_row(r))
    print("\n## Details per reader\n")
    for tag, r in results.items():
        w, s = r["wikiqa_test"], r["squad_heldout"]
        print(f"### {tag}\n")
        cal = r["calibrator"]
        print(f"- calibration: Platt over each {r['calibration']} (p = sigmoid({cal['a']:.4f} * raw + {cal['b']:.4f})), "
              f"threshold {cal['threshold']:.3f} (best F1 on held-out SQuAD, gold + miss sets)")
        if r.get("train_seconds") is not None:
            print(f"- training time: {float(r['train_seconds']) / 60:.1f} min")
        print(f"- WikiQA test: MAP {w['MAP']:.3f}, MRR {w['MRR']:.3f}, P@1 {w['P@1']:.3f} (n={w['n']}); triggering "
              f"P {w['trig_P']:.3f} R {w['trig_R']:.3f} F1 {w['trig_F1']:.3f} ({w['trig_triggered']} of {w['sets']} triggered); "
              f"ECE answer {w['ECE_answer']:.3f}, sentence {w['ECE_sentence']:.3f}; "
              f"(reference only, not used: F1 at WikiQA's own best threshold {w['oracle_threshold_F1']:.3f})")
        tg, tm = s["triggering_gold_only"], s["triggering_gold_and_miss"]
        print(f"- held-out SQuAD ({s['answerable_questions']} answerable questions): top sentence holds the span "
              f"{s['top1_gold_span_3_passages']:.3f} among 3 passages, {s['top1_gold_span_own_passage']:.3f} within its own passage; "
              f"MAP {s['ranking_3_passages']['MAP']:.3f}; triggering F1 {tm['F1']:.3f} (P {tm['P']:.3f} R {tm['R']:.3f}; "
              f"{tm['sets']} sets, {tm['without_answer']} without answer) on gold + miss sets, {tg['F1']:.3f} "
              f"(P {tg['P']:.3f} R {tg['R']:.3f}; {tg['without_answer']} unanswerable of {tg['sets']}) on gold sets only; "
              f"ECE answer {s['ECE_answer']:.3f}, sentence {s['ECE_sentence']:.3f} (cross-fitted by question halves); "
              f"answer ECE with the calibrator fit on all held-out sets {s['ECE_answer_insample']:.3f}, "
              f"cross-fitted by article {s['ECE_answer_article_crossfit']:.3f}")
        print("\nReliability (answer confidence vs. top sentence correct), held-out SQuAD, cross-fitted by question halves:\n")
        print(s["reliability_answer"])
        print("\nReliability, WikiQA test:\n")
        print(w["reliability_answer"])
        print()
    for path in sorted(HERE.glob("latency_*.json")):
        lat = json.load(open(path))
        print(f"## Latency ({path.name}: {lat['threads']} threads; load average at start "
              f"{', '.join(f'{x:.1f}' for x in lat['loadavg_at_start'])})\n")
        print("| reader | SQuAD held-out: best-of-3 p50 / p95 ms | all runs p50 / p95 | CPU p50 | WikiQA test: best-of-3 p50 / p95 ms | all runs p50 / p95 | CPU p50 |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        a, b = lat["squad_heldout_gold"], lat["wikiqa_test"]
        for name in a:
            if name == "mean_candidates":
                continue
            if name not in b:
                continue
            row = []
            for d in (a[name], b[name]):
                row += [f"{d['best_p50_ms']:.2f} / {d['best_p95_ms']:.2f}", f"{d['p50_ms']:.2f} / {d['p95_ms']:.2f}",
                        f"{d['cpu_p50_ms']:.2f}"]
            print(f"| {name} | " + " | ".join(row) + " |")
        print(f"\nMean candidates per question: SQuAD {a['mean_candidates']:.1f}, WikiQA {b['mean_candidates']:.1f}.\n")


if __name__ == "__main__":
    main()
