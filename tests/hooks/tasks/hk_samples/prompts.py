# fewshot_config.samples for hk_samples (written for these tests)
def examples():
    return [
        {"ctx": "Ice is", "endings": ["cold", "hot"], "label": "0"},
        {"ctx": "Snow is", "endings": ["black", "white"], "label": "1"},
        {"ctx": "never used", "endings": ["x"], "label": "0"},
    ]
