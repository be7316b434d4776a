"""Artifacts and helpers shared by several check families.

- `text`: normalised prompts (artifact `normalized_prompts`), word splitting, blank tests;
- `corpus`: token corpora, n-gram hashes, seeded samples, diversity maths;
- `tasks`: task types of instructions (lexicons/task_types.json);
- `features`: TF-IDF (`tfidf`) and LSA (`lsa`) vectors, the probe text classifier;
- `probe`: out-of-fold probe predictions (`oof_predictions` and the optional probes);
- `embeddings`, `finetune`, `neighbours`: the optional sentence encoder, its fine-tuned probe,
  the nearest-neighbour label vote;
- `minhash`: vectorised MinHash signatures and LSH banding;
- `scan`: vectorised regex scanning over Arrow columns.

Importing this package registers the shared artifacts.
"""

from __future__ import annotations

from checks.shared import embeddings, features, probe, text  # noqa: F401  (register artifacts)
