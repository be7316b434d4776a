"""Built-in checks. Importing this package registers them (and their shared artifacts).

Adding a check: write the module, its tests, and add its import below.
"""

from checks import bias, bias_counterfactual, chat_structure, duplication, _features, _groups, gx_integrity, instruction_patterns, integrity, length_outliers, leakage, pii, structured_output, _text, text_hygiene, truncation, advisory, diversity, diversity_semantic, overfitting, label_noise, class_balance, outliers  # noqa: F401
