"""Answers of the prediction API as the attacker sees them, task by task.

- :mod:`.base`: :class:`ModelInfo`, :class:`PolicyInfo`, and the per-task registry
  (:func:`answer_type`, :func:`for_task`) with the journal record codec
  (:func:`to_record`, :func:`from_record`);
- :mod:`.classification`: :class:`Answer`, :class:`Answers`, :func:`answers_to_soft`.

A new task adds one module here that defines its answer and batch types and calls
:func:`answer_type`, and imports it below.
"""

from . import classification
from .base import AnswerType, ModelInfo, PolicyInfo, answer_type, for_task, from_record, to_record
from .classification import Answer, Answers, answers_to_soft

__all__ = [
    "Answer",
    "AnswerType",
    "Answers",
    "ModelInfo",
    "PolicyInfo",
    "answer_type",
    "answers_to_soft",
    "classification",
    "for_task",
    "from_record",
    "to_record",
]
