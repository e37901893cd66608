# a hook that fails on one document (written for these tests)
def doc_to_text(doc):
    if doc["ctx"] == "Fire is":
        return doc["no_such_field"]
    return doc["ctx"]
