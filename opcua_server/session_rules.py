"""The rules for sessions and their subscriptions (the asyncua classes that apply them are
in `_asyncua.sessions` and `_asyncua.processor`).

asyncua lets any session use any subscription by its (sequential) id: delete it, modify it,
acknowledge its notifications, take it over with TransferSubscriptions. Here a session uses
only its own subscriptions (BadSubscriptionIdInvalid otherwise) and takes over another's only
when that one was opened by the same user; subscriptions and monitored items are limited per
session on top of the server-wide limits."""

from __future__ import annotations

from asyncua.crypto.permission_rules import User

from .settings import ServerSettings


def session_refused(limits: ServerSettings, open_sessions: int) -> bool:
    """A new client session past `max_sessions` (BadTooManySessions)."""
    return open_sessions >= limits.max_sessions


def subscription_refused(limits: ServerSettings, own_subscriptions: int) -> bool:
    """A new subscription past `max_subscriptions_per_session` (BadTooManySubscriptions)."""
    return own_subscriptions >= limits.max_subscriptions_per_session


def monitored_item_room(limits: ServerSettings, in_subscription: int, in_session: int, in_server: int) -> int:
    """How many more monitored items fit in the subscription, the session and the server."""
    room = min(limits.max_monitored_items - in_subscription,
               limits.max_monitored_items_per_session - in_session,
               limits.max_monitored_items_total - in_server)
    return max(room, 0)


def same_user(a: User, b: User) -> bool:
    """Subscriptions move only between sessions of the same user (Part 4, 5.13.7)."""
    return a.name == b.name and a.role == b.role


def may_take_over(activated: bool, channel_gone: bool, same_certificate: bool) -> bool:
    """A session's own connection is gone, and the client holds the same certificate."""
    return activated and channel_gone and same_certificate


def closes_with_connection(activated: bool, external: bool, has_subscriptions: bool) -> bool:
    """On connection loss a session closes at once unless it is an activated client session
    with subscriptions (then it waits `orphan_timeout_s` to be taken over)."""
    return not activated or not external or not has_subscriptions
