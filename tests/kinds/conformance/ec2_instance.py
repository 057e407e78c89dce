SKIP = (
    "not written yet: moto's EC2 would do (tests/unit/test_state_identity.py covers its ladder); "
    "its unreachable region fails the whole plan rather than blocking only its instances"
)
