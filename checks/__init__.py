"""Built-in checks. Importing this package registers them (and their shared artifacts).

Adding a check: write the module, its tests, and add its import below.
"""

from checks import (  # noqa: F401
    _features,
    _groups,
    _text,
    advisory,
    bias,
    bias_counterfactual,
    chat_structure,
    class_balance,
    diversity,
    diversity_semantic,
    duplication,
    gx_integrity,
    instruction_patterns,
    integrity,
    label_noise,
    leakage,
    length_outliers,
    outliers,
    overfitting,
    pii,
    structured_output,
    text_hygiene,
    truncation,
)
