"""A workspace's configured connections that hold secrets (LLM providers, MCP servers),
changed by people in the studio (the REST API and the AI settings page).

Each kind is saved by its integration's save function, which validates and encrypts the
secrets; here every change is also recorded in the workspace's audit log, on the people's
side. The log names the changed fields (and what happened to a secret: replaced or
removed), never a secret's value."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from django.db import IntegrityError, transaction

from studio.people import audit


@dataclass(frozen=True)
class SecretConnections:
    model: Any
    save: Callable[..., Any]  # save(workspace, data, existing=None) -> the saved row
    invalid: type[Exception]  # the save's refusal: invalid(field, message)
    action: str  # audit action prefix: "<action>.create", ".update", ".delete"
    noun: str  # "a provider", for the duplicate-name refusal
    changed: Callable[[dict], dict]  # the audit details of a change, without secret values

    def of(self, workspace) -> list:
        return list(self.model.objects.filter(workspace=workspace))

    def get(self, workspace, pk):
        return self.model.objects.filter(workspace=workspace, pk=pk).first()

    def add(self, workspace, data, *, user):
        return self._save(workspace, data, None, user=user, action="create")

    def change(self, row, data, *, user):
        return self._save(row.workspace, data, row, user=user, action="update")

    def remove(self, row, *, user) -> None:
        with transaction.atomic():
            audit.record(actor=user, workspace=row.workspace, action=f"{self.action}.delete", target=row,
                         details={"name": row.name})
            row.delete()

    def _save(self, workspace, data, existing, *, user, action):
        try:
            with transaction.atomic():
                row = self.save(workspace, data, existing)
                audit.record(actor=user, workspace=workspace, action=f"{self.action}.{action}", target=row,
                             details=self.changed(data if isinstance(data, dict) else {}))
        except IntegrityError:
            # Two saves of the same name at once: the second loses on the unique constraint.
            raise self.invalid("name", f"the workspace already has {self.noun} named {data.get('name')!r}") from None
        return row
