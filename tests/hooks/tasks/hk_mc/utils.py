# process_docs for hk_mc: the shape of hellaswag's (written for these tests)
import re

import datasets


def clean(text):
    return re.sub(r"\s+", " ", text.strip())


def process_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    def one(doc, idx):
        return {
            "query": clean(doc["ctx"]) + " (#%d)" % idx,
            "choices": [clean(e).upper() for e in doc["endings"]],
            "label": int(doc["label"]),
        }

    # drop the documents marked skip, then build the fields
    return dataset.filter(lambda d: not d["skip"]).map(one, with_indices=True)
