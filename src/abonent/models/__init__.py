"""All models, imported here so that Alembic and the mapper see the whole schema."""

from abonent.models.accounts import (
    Account,
    AccountBalance,
    Contract,
    Service,
    ServiceStatusChange,
    Tariff,
)
from abonent.models.base import Base
from abonent.models.collections import (
    AssignmentItem,
    CollectionAgency,
    CollectionAssignment,
    WriteOffRequest,
)
from abonent.models.court import CourtCase, CourtCaseLine, CourtStageEvent
from abonent.models.customers import Customer
from abonent.models.disputes import Dispute, DisputeEvidence, DisputeItem
from abonent.models.dunning import DunningItem, DunningLadder, DunningProgress, DunningStep
from abonent.models.ledger import Allocation, JournalEntry, OpenItem, Posting
from abonent.models.notices import (
    ContactBlock,
    ContactLogEntry,
    ContactMessage,
    DebtNotice,
    NoticeTemplateVersion,
    SuspiciousSmsReport,
)
from abonent.models.ops import ApiKey, AuditEvent, OutboxAttempt, OutboxMessage
from abonent.models.payments import (
    AgentRegistryFormat,
    CardPayment,
    IdempotencyKey,
    Payment,
    PaymentAgent,
    RegistryImport,
    RegistryLine,
    SandboxAcquiringPayment,
    WebhookEvent,
)
from abonent.models.promised import PromisedPayment, UssdSession
from abonent.models.requests import WrittenRequest
from abonent.models.sms import SmsMessage, SmsPart
from abonent.models.staff import PersonAccess, StaffLoginFailure, StaffSession, StaffUser
from abonent.models.subscribers import LoginCode, SubscriberSession, ThrottleHit

__all__ = [
    "Account",
    "AccountBalance",
    "AgentRegistryFormat",
    "Allocation",
    "ApiKey",
    "AssignmentItem",
    "AuditEvent",
    "Base",
    "CardPayment",
    "CollectionAgency",
    "CollectionAssignment",
    "ContactBlock",
    "ContactLogEntry",
    "ContactMessage",
    "Contract",
    "CourtCase",
    "CourtCaseLine",
    "CourtStageEvent",
    "Customer",
    "DebtNotice",
    "Dispute",
    "DisputeEvidence",
    "DisputeItem",
    "DunningItem",
    "DunningLadder",
    "DunningProgress",
    "DunningStep",
    "IdempotencyKey",
    "JournalEntry",
    "LoginCode",
    "NoticeTemplateVersion",
    "OpenItem",
    "OutboxAttempt",
    "OutboxMessage",
    "Payment",
    "PaymentAgent",
    "PersonAccess",
    "Posting",
    "PromisedPayment",
    "RegistryImport",
    "RegistryLine",
    "SandboxAcquiringPayment",
    "Service",
    "ServiceStatusChange",
    "SmsMessage",
    "SmsPart",
    "StaffLoginFailure",
    "StaffSession",
    "StaffUser",
    "SubscriberSession",
    "SuspiciousSmsReport",
    "Tariff",
    "ThrottleHit",
    "UssdSession",
    "WebhookEvent",
    "WriteOffRequest",
    "WrittenRequest",
]
