# a process_results hook that fails on the document marked "skip"
# (written for these tests)
def process_results(doc, results):
    if doc["skip"]:
        return {"picked_first": doc["no_such_field"]}
    lls = [r[0] for r in results]
    return {"picked_first": 1.0 if lls.index(max(lls)) == 0 else 0.0}
