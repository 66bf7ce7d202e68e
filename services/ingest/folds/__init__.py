"""State as a pure fold over event time: the same events give the same state in any arrival order.

Each domain's state is stored as versions: the state after the events up to an instant, valid until
the next event that changes it. The row valid at T is therefore the fold of the events with time <= T,
and the aggregator evaluates "now" and any past instant with the same query.
"""
