# Synthetic documents of the real schemas (field names and types of each
# data set's Hugging Face rows) for bench/hooks_e2e.sh: a few rows per split
# under DATA/<dataset_path>[/<dataset_name>]/<split>.jsonl.
import json
import os
import sys

data = sys.argv[1]


def put(path, name, split, rows):
    d = os.path.join(data, path, name) if name else os.path.join(data, path)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, split + ".jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def n(k, f):
    return [f(i) for i in range(k)]


hs = lambda i: {"ind": i, "activity_label": "Cooking", "ctx_a": "A man  stirs a pot [title] of soup.",
                "ctx_b": "he", "ctx": "", "endings": ["adds salt.", "[header] walks away.", "sings.", "eats it."],
                "source_id": "x", "split": "val", "split_type": "indomain", "label": str(i % 4)}
put("Rowan/hellaswag", None, "train", n(6, hs))
put("Rowan/hellaswag", None, "validation", n(4, hs))
wg = lambda i: {"sentence": "The trophy didn't fit in the case because _ was too big.", "option1": "trophy",
                "option2": "case", "answer": str(1 + i % 2)}
put("allenai/winogrande", "winogrande_xl", "train", n(6, wg))
put("allenai/winogrande", "winogrande_xl", "validation", n(4, wg))
tq = lambda i: {"question": "What happens if you eat seeds %d?" % i,
                "mc1_targets": {"choices": ["Nothing happens.", "You grow a tree."], "labels": [1, 0]},
                "mc2_targets": {"choices": ["Nothing.", "They pass.", "A tree grows."], "labels": [1, 1, 0]}}
put("truthfulqa/truthful_qa", "multiple_choice", "validation", n(4, tq))
cp = lambda i: {"premise": "The man broke his toe.", "choice1": "He dropped a hammer on his foot.",
                "choice2": "He got a hole in his sock.", "question": ["cause", "effect"][i % 2], "idx": i,
                "label": i % 2}
put("aps/super_glue", "copa", "train", n(6, cp))
put("aps/super_glue", "copa", "validation", n(4, cp))
rc = lambda i: {"article": "Tom went to the market. He bought apples.", "problems": repr([
    {"question": "Where did Tom go?", "answer": "A", "options": ["market", "school", "home", "park"]},
    {"question": "Tom bought  _  .", "answer": "B", "options": ["pears", "apples", "bread", "milk"]}])}
put("EleutherAI/race", "high", "test", n(4, rc))
gq = lambda i: {"Question": "What is 2+%d?" % i, "Correct Answer": str(2 + i), "Incorrect Answer 1": "x",
                "Incorrect Answer 2": " y [title] z", "Incorrect Answer 3": None}
put("Idavidrein/gpqa", "gpqa_main", "train", n(4, gq))
mq = lambda i: {"Problem": "a train runs %d km" % i, "Rationale": "r", "options":
                "a ) 10 , b ) 20 , c ) 30 , d ) 40 , e ) 50", "correct": "abcde"[i % 5],
                "annotated_formula": "", "linear_formula": "", "category": "physics"}
for s in ("train", "validation", "test"):
    put("regisss/math_qa", None, s, n(6, mq))
lq = lambda i: {"label": "abcd"[i % 4], "context": "All cats are grey.", "question": "Which follows?",
                "options": ["one", "two", "three", "four"]}
for s in ("train", "validation", "test"):
    put("EleutherAI/logiqa", "logiqa", s, n(6, lq))
ie = lambda i: {"key": i, "prompt": "Write a haiku about rain. Use no commas.",
                "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
put("google/IFEval", None, "train", n(3, ie))
nodate = {"day": "", "month": "", "year": ""}
dr = lambda i: {"section_id": "s", "query_id": "q%d" % i, "passage": "The team scored 3 goals in 1990.",
                "question": "How many goals?", "answer": {"number": "3", "date": nodate, "spans": []},
                "validated_answers": {"number": ["", "3"], "date": [nodate, nodate], "spans": [["three"], []]}}
put("EleutherAI/drop", None, "train", n(4, dr))
put("EleutherAI/drop", None, "validation", n(3, dr))
mm = lambda i: {"problem": "Solve $x+%d=5$." % i, "level": "Level %d" % (5 if i % 2 else 3), "type": "Algebra",
                "solution": "We get $x=\\boxed{%d}$." % (5 - i)}
put("EleutherAI/hendrycks_math", "algebra", "train", n(6, mm))
put("EleutherAI/hendrycks_math", "algebra", "test", n(4, mm))
put("DigitalLearningGmbH/MATH-lighteval", "algebra", "train", n(6, mm))
put("DigitalLearningGmbH/MATH-lighteval", "algebra", "test", n(4, mm))
mu = lambda i: {"narrative": "A body was found.", "question": "Who is the murderer?",
                "choices": repr(["Alice", "Bob"]), "answer_index": i % 2, "answer_choice": ["Alice", "Bob"][i % 2]}
put("TAUR-Lab/MuSR", None, "murder_mysteries", n(3, mu))
mp = lambda i: {"question_id": i, "question": "What is %d+1?" % i, "options": ["1", "2", "3", "4"],
                "answer": "B", "answer_index": 1, "cot_content": "A: Let's think step by step. The answer is (B).",
                "category": "math", "src": "x"}
put("TIGER-Lab/MMLU-Pro", None, "validation", n(6, mp))
put("TIGER-Lab/MMLU-Pro", None, "test", n(4, mp))
