"""Quality measurement of the matcher on public benchmarks (no gRPC, no terminal output).

- `metrics`: NDCG@k, P@k, AUROC, MRR, P/R/F1 as pure functions.
- `topics`: a free-text patient description -> the FHIR Bundle an EHR would send.
- `data`: readers for TREC-style folders and criterion-annotation JSONL.
- `workspace`: the cached store (topics ingested, trials parsed and embedded once).
- `baselines`: Okapi BM25 and plain-embedding rankers on the same pairs.
- `trec`, `criteria`: the two evaluations behind `trialmatch eval trec|criteria`.
"""
