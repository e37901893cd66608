# a class module that imports a module nobody has
import llm_eval_no_such_module  # noqa: F401
