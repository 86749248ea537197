"""Forms for administering exclusion principles; the principle service holds every rule."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from incidents.review.forms import ServiceErrors


class AddPrincipleForm(ServiceErrors, FlaskForm):
    """A new principle: its code and first wording."""

    required = ("code", "wording")

    code = StringField("Code", description="3-60 lower-case letters, digits and hyphens, e.g. force-majeure. "
                                           "It cannot change later.")
    wording = TextAreaField("Wording", description="The words the DCC cites and SECAS reviews against.")
    basis = TextAreaField("Rests on", description="Optional: what the principle rests on, e.g. Services Force "
                                                  "Majeure (SEC Section M3), or that it is assumed.")


class RewordForm(ServiceErrors, FlaskForm):
    """A principle's new wording; the old wording stays in its history."""

    required = ("wording",)

    wording = TextAreaField("New wording", description="Proposals that cited the old wording keep it.")
    basis = TextAreaField("Rests on", description="What the principle rests on; a change makes a new version too.")
