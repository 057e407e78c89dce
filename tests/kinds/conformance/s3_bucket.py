SKIP = (
    "not written yet: moto's S3 would do (tests/unit/test_state_identity.py and tests/kinds/test_state_identity.py "
    "cover its ladder); its unreachable region fails the whole plan rather than blocking only its buckets"
)
