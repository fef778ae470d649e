"""Evaluation: metrics, BD-rate, RD plots, anchor codecs and the benchmark."""
