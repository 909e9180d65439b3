"""Make the first studio login without prompts (scripts/run-studio.sh uses it).

    manage.py create_owner --email admin@example.com [--password PW] [--workspace NAME]

Creates the user as a superuser (for /admin/) unless the email already has an account, makes
them the owner of every workspace nobody belongs to (e.g. the Default workspace that
`manage.py bot import` creates) and, if they then have no workspace at all, of a new one.
Prints the workspace's slug on stdout (for `bot import --workspace`); everything else goes to
stderr. Without --password a new account gets a random password, printed once.
"""
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from studio import accounts
from studio.people import audit
from studio.people.models import Membership, Role, Workspace
from studio.permissions import workspaces_for
from studio.people.workspaces import create_workspace


class Command(BaseCommand):
    help = "Create the first owner (a superuser with a workspace) non-interactively; print the workspace slug."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", default="", help="for a new account; default: a random one, printed")
        parser.add_argument("--workspace", default="", help="name of the workspace to create if they have none")

    def handle(self, *args, email, password, workspace, **options):
        email = accounts.normalize_email(email)
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                generated = not password
                password = password or secrets.token_urlsafe(12)
                try:
                    user = accounts.sign_up(email, password, with_workspace=False)
                except accounts.AccountError as exc:
                    raise CommandError(str(exc)) from None
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
                self.stderr.write(f"Created {email} (superuser)." + (f" Password: {password}" if generated else ""))
            else:
                self.stderr.write(f"{email} already has an account; its password is unchanged.")
            for orphan in Workspace.objects.filter(memberships__isnull=True):
                Membership.objects.create(workspace=orphan, user=user, role=Role.OWNER)
                audit.record(actor=None, workspace=orphan, action="member.join", target=orphan,
                             details={"email": email, "role": Role.OWNER.value, "via": "create_owner"})
                self.stderr.write(f"{email} now owns the workspace {orphan.name} (it had no members).")
            home = workspaces_for(user).order_by("created_at").first()
            if home is None:
                home = create_workspace(user, workspace or "My workspace")
                self.stderr.write(f"Created the workspace {home.name} for {email}.")
        self.stdout.write(home.slug)
