"""Tasks as data: questions, prompt templates, scorers, loaders and the synthetic suite."""

from probecast.tasks.registry import load_tasks
from probecast.tasks.schema import PromptTemplate, Question, Task

__all__ = ["PromptTemplate", "Question", "Task", "load_tasks"]
