"""AdapterConformance for the adapters that convert finished runs and ship no live callback.

scikit-learn searches are converted after the fact, so only the offline parts of
:class:`hpviz.testing.AdapterConformance` apply: conversion, save/load and
the space round trip. The callback tests are switched off here, by name, in one place.
SMAC3, Ax and Vizier got live callbacks after their converters: their offline part
runs in an :class:`OfflineConformance` subclass (tests/test_smac.py, ...), their live
part in a :class:`LiveConformance` subclass (tests/test_smac_callback.py, ...).
"""

from __future__ import annotations

from hpviz.testing import AdapterConformance

__all__ = ["OfflineConformance"]


class OfflineConformance(AdapterConformance):
    test_callback_rejects_unknown_options_listing_the_allowed_ones = None
    test_callback_rejects_bad_report_paths_at_construction = None
    test_callback_before_the_first_trial = None
    test_callback_survives_unwritable_report = None
    test_live_callback_equals_offline_conversion = None


class LiveConformance(AdapterConformance):
    """The live part of :class:`hpviz.testing.AdapterConformance` only, for an adapter whose offline
    part already runs in an :class:`OfflineConformance` subclass (SMAC, Ax, Vizier: their converters
    came first, their live callbacks later)."""

    test_conversion_matches_the_run = None
    test_saved_and_loaded_losslessly = None
    test_space_round_trip = None
