# imports a module nobody installs (written for these tests)
import llm_eval_test_no_such_module  # noqa: F401


def process_docs(dataset):
    return dataset
