"""Robust, offline parsers for what skills need from free text: numbers, durations, times, dates, zones,
arithmetic and units. HWU64 has no slot tags, so skills read their values from the words themselves."""
