"""Django's Redis cache, keeping one redis-py client per connection pool.

Django's backend makes a new client for every operation, and redis-py builds a client's table
of response callbacks anew each time: about a tenth of a millisecond per operation, several
per page (the session, the page). Clients share their pool's connections and are safe to
share between threads; the pool reconnects after a fork.
"""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)  # kept: its id stays its own
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
