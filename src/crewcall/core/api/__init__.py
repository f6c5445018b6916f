"""The pieces every API router shares: problems, strict inputs, auth and roles, versions
(ETag / If-Match), idempotency keys and keyset pagination."""
