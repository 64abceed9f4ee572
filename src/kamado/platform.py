"""The running platform: configuration, store, object store and providers, wired once."""

from __future__ import annotations

from kamado.config import Config


class Platform:
    def __init__(self, config: Config) -> None:
        from kamado.services.registry import ServiceRegistry
        from kamado.storage.objectstore import ObjectStore
        from kamado.store.database import Database
        from kamado.store.logs import LogStore
        from kamado.store.resources import Resources

        from kamado.credentials import root_key

        self.config = config
        config.home.mkdir(parents=True, exist_ok=True)
        self.access_key_id, self._secret = root_key(config)
        self.db = Database(config.effective_database_url)
        self.db.upgrade()
        self.resources = Resources(self.db)
        self.logs = LogStore(self.db)  # later layers (training, endpoints) write here too
        self.objects = ObjectStore(config.objects_dir, fsync=config.object_fsync)
        from kamado.engine.engine import Engine

        self.engine = Engine(self)
        self.services = ServiceRegistry(self)

    def start(self) -> None:
        """Start running jobs (a server does; a platform opened for a one-off task need not)."""
        self.engine.start()

    def secret_for(self, access_key_id: str) -> str | None:
        """The secret of a key this platform knows (today: the account's root key)."""
        return self._secret if access_key_id == self.access_key_id else None

    def close(self) -> None:
        self.engine.close()
        self.objects.close()
        self.db.close()
