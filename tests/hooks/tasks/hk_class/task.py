# class: tasks for llm-eval's tests, written against lm-evaluation-harness's
# Task API (lm_eval/api/task.py): subclasses of ConfigurableTask, Task and
# MultipleChoiceTask, their requests as Instances, metrics aggregated by a
# registered function, lm_eval.api.metrics.mean and a plain function.
from lm_eval.api.instance import Instance
from lm_eval.api.metrics import mean
from lm_eval.api.registry import register_aggregation
from lm_eval.api.task import ConfigurableTask, MultipleChoiceTask, Task


@register_aggregation("hk_total")
def total(items):
    return float(sum(items))


def longest(items):
    return float(max(len(x) for x in items))


class GenTask(ConfigurableTask):
    """generate_until, arguments from construct_requests; the validation
    split's documents processed by the class."""
    VERSION = 2
    DATASET_PATH = "hkcls"
    DATASET_NAME = None

    def __init__(self, config=None):
        super().__init__(config={"metadata": {"version": self.VERSION}})

    def has_training_docs(self):
        return False

    def has_validation_docs(self):
        return True

    def has_test_docs(self):
        return False

    def validation_docs(self):
        return self.dataset["validation"].map(lambda d, i: {"n": i}, with_indices=True)

    def doc_to_text(self, doc):
        return "Q%d: %s" % (doc["n"], doc["question"])

    def doc_to_target(self, doc):
        return " " + doc["answer"]

    def construct_requests(self, doc, ctx, chat_template=None, apply_chat_template=False, **kwargs):
        return [Instance(request_type="generate_until", doc=doc,
                         arguments=(ctx + " A:", {"until": ["\n", "."], "max_gen_toks": 5}), idx=0, **kwargs)]

    def process_results(self, doc, results):
        (pred,) = results
        return {"hit": float(doc["answer"] in pred.lower()), "chars": len(pred), "pred": pred}

    def aggregation(self):
        return {"hit": mean, "chars": total, "pred": longest}

    def higher_is_better(self):
        return {"hit": True, "chars": False, "pred": True}


class ChoiceTask(Task):
    """loglikelihood requests, one per choice, each its own context."""
    VERSION = 1
    DATASET_PATH = "hkcls"

    def has_training_docs(self):
        return True

    def has_validation_docs(self):
        return True

    def has_test_docs(self):
        return False

    def training_docs(self):
        return self.dataset["train"]

    def validation_docs(self):
        return [dict(d, question=d["question"].upper()) for d in self.dataset["validation"]]

    def doc_to_text(self, doc):
        return doc["question"]

    def doc_to_target(self, doc):
        return doc["choices"][doc["gold"]]

    def construct_requests(self, doc, ctx, chat_template=None, apply_chat_template=False, **kwargs):
        return [Instance(request_type="loglikelihood", doc=doc, arguments=(ctx + " (%d)" % i, " " + c),
                         idx=i, **kwargs) for i, c in enumerate(doc["choices"])]

    def process_results(self, doc, results):
        lls = [ll for ll, _ in results]
        best = lls.index(max(lls))
        return {"acc": 1.0 if best == doc["gold"] else 0.0, "greedy": sum(1 for _, g in results if g)}

    def aggregation(self):
        return {"acc": mean, "greedy": total}

    def higher_is_better(self):
        return {"acc": True, "greedy": True}


class Mc(MultipleChoiceTask):
    """the base class's own requests, process_results and aggregation."""
    DATASET_PATH = "hkcls"

    def has_training_docs(self):
        return False

    def has_validation_docs(self):
        return True

    def has_test_docs(self):
        return False

    def validation_docs(self):
        return self.dataset["validation"]

    def doc_to_text(self, doc):
        return "Question: " + doc["question"] + "\nAnswer:"


class Mixed(GenTask):
    """a generation and a log-likelihood for one document (squadv2's way)."""

    def construct_requests(self, doc, ctx, chat_template=None, apply_chat_template=False, **kwargs):
        return [Instance(request_type="generate_until", doc=doc, arguments=(ctx, {"until": ["\n"]}), idx=0,
                         **kwargs),
                Instance(request_type="loglikelihood", doc=doc, arguments=(ctx, " unanswerable"), idx=0,
                         **kwargs)]


class Bare(ConfigurableTask):
    """relies on ConfigurableTask's metric machinery (process_results and
    aggregation of metric_list), which the stand-in does not serve."""

    def __init__(self, config=None):
        super().__init__(config={"dataset_path": "hkcls", "validation_split": "validation",
                                 "doc_to_text": "question", "doc_to_target": "answer"})


class NotATask:
    pass


class OwnData(GenTask):
    """loads its data itself (scrolls' and unitxt's way)."""

    def download(self, *args, **kwargs):
        self.dataset = {"validation": []}
