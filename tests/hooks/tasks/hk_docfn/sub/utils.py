# doc_to_* hooks for hk_docfn (written for these tests)
def doc_to_text(doc):
    return "Context: " + doc["ctx"].strip() + "\nEnding:"


def doc_to_target(doc):
    return int(doc["label"])


def doc_to_choice(doc):
    return [e.strip() for e in doc["endings"]]
