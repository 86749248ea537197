"""Forms for user administration.

The forms only check that something was entered; every rule (email shape,
unique email, password length, known role) lives in the user service, so the
CLI and the browser refuse the same things with the same words.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.3; stubs are 3.2
from wtforms.validators import InputRequired

from incidents.user.models import Role

ROLE_CHOICES = [SelectChoice(role.value, f"{role.label} ({role.value})") for role in Role]


class CreateUserForm(FlaskForm):
    """Email, name, role and initial password of a new user."""

    email = EmailField("Email", validators=[InputRequired("Enter an email address.")])
    name = StringField("Name")
    # validate_choice=False: an unknown role reaches the service, which names the choices.
    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)
    password = PasswordField("Initial password", validators=[InputRequired("Enter an initial password.")])


class NameForm(FlaskForm):
    """A user's display name."""

    name = StringField("Name")


class RoleForm(FlaskForm):
    """A user's role."""

    role = SelectField("Role", choices=ROLE_CHOICES, validate_choice=False)


class PasswordForm(FlaskForm):
    """A new password set by an administrator."""

    password = PasswordField("New password", validators=[InputRequired("Enter a new password.")])
