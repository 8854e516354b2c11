"""The foundation every layer may use: settings, the clock, the error family, single flight.

Nothing here imports anything else of ours, so it can sit below everything.
"""
