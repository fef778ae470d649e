"""Evaluation: metrics, BD-rate, RD plots, the benchmark runner and its reports.

The codecs it measures, anchors included (:mod:`codeclab.anchors`), are reached through the
codec registry only.
"""
