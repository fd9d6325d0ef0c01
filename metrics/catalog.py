"""The standard catalog every new organization starts with (DOMAIN.md).

Plain data: `services.catalog_install` turns it into rows. Labels are given in both
languages because they are data of the organization (an admin may rename them), not
interface strings.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MetricSpec:
    code: str
    label_fr: str
    label_en: str
    kind: str = "count"  # count / money / percent / duration
    rollup: str = "sum"  # sum / first / last
    description_fr: str = ""
    description_en: str = ""
    aliases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class KPISpec:
    code: str
    label_fr: str
    label_en: str
    formula: str
    unit: str  # percent / money / ratio / count / months / points
    direction: str  # higher / lower
    indicator: str  # leading / lagging
    stage: str  # awareness / consideration / conversion / loyalty / advocacy
    decimals: int = 2
    followed: bool = False
    description_fr: str = ""
    description_en: str = ""


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("sessions", "Sessions", "Sessions", aliases=("Engaged sessions",)),
    MetricSpec(
        "visitors", "Visiteurs", "Visitors", aliases=("Total users", "Users", "Utilisateurs")
    ),
    MetricSpec(
        "bounces",
        "Rebonds",
        "Bounces",
        description_fr="Sessions d'une seule page",
        description_en="Single-page sessions",
    ),
    MetricSpec("impressions", "Impressions", "Impressions", aliases=("Impr.",)),
    MetricSpec("reach", "Portée", "Reach"),
    MetricSpec("clicks", "Clics", "Clicks", aliases=("Link clicks",)),
    MetricSpec(
        "engagements",
        "Interactions",
        "Engagements",
        description_fr="J'aime + partages + commentaires",
        description_en="Likes + shares + comments",
    ),
    MetricSpec("followers", "Abonnés", "Followers", rollup="last"),
    MetricSpec("mentions", "Mentions", "Mentions"),
    MetricSpec("emails_sent", "E-mails envoyés", "Emails sent"),
    MetricSpec("emails_opened", "E-mails ouverts", "Emails opened"),
    MetricSpec("email_clicks", "Clics e-mail", "Email clicks"),
    MetricSpec("leads", "Prospects", "Leads"),
    MetricSpec("conversions", "Conversions", "Conversions", aliases=("Key events",)),
    MetricSpec("carts", "Paniers créés", "Carts created"),
    MetricSpec("orders", "Commandes", "Orders"),
    MetricSpec("new_customers", "Nouveaux clients", "New customers"),
    MetricSpec(
        "customers_start", "Clients en début de période", "Customers at start", rollup="first"
    ),
    MetricSpec("customers_end", "Clients en fin de période", "Customers at end", rollup="last"),
    MetricSpec("revenue", "Chiffre d'affaires", "Revenue", kind="money"),
    MetricSpec(
        "spend",
        "Dépenses marketing",
        "Marketing spend",
        kind="money",
        aliases=("Cost", "Amount spent"),
    ),
    MetricSpec("promoters", "Promoteurs", "Promoters"),
    MetricSpec("passives", "Passifs", "Passives"),
    MetricSpec("detractors", "Détracteurs", "Detractors"),
)

KPIS: tuple[KPISpec, ...] = (
    KPISpec("conversion_rate", "Taux de conversion", "Conversion rate",
            "conversions / visitors * 100", "percent", "higher", "lagging", "conversion", followed=True),
    KPISpec("ctr", "Taux de clic (CTR)", "Click-through rate (CTR)",
            "clicks / impressions * 100", "percent", "higher", "leading", "awareness", followed=True),
    KPISpec("cpc", "Coût par clic (CPC)", "Cost per click (CPC)",
            "spend / clicks", "money", "lower", "leading", "consideration"),
    KPISpec("cpm", "Coût pour mille (CPM)", "Cost per mille (CPM)",
            "spend / impressions * 1000", "money", "lower", "leading", "awareness"),
    KPISpec("cpl", "Coût par prospect (CPL)", "Cost per lead (CPL)",
            "spend / leads", "money", "lower", "leading", "consideration"),
    KPISpec("cpa", "Coût par acquisition (CPA)", "Cost per acquisition (CPA)",
            "spend / conversions", "money", "lower", "lagging", "conversion", followed=True),
    KPISpec("cac", "Coût d'acquisition client (COCA)", "Customer acquisition cost (CAC)",
            "spend / new_customers", "money", "lower", "lagging", "conversion", followed=True),
    KPISpec("roi", "Retour sur investissement (ROI)", "Return on investment (ROI)",
            "(revenue - spend) / spend * 100", "percent", "higher", "lagging", "conversion", followed=True),
    KPISpec("roas", "Retour sur dépenses publicitaires (ROAS)", "Return on ad spend (ROAS)",
            "revenue / spend", "ratio", "higher", "lagging", "conversion"),
    KPISpec("bounce_rate", "Taux de rebond", "Bounce rate",
            "bounces / sessions * 100", "percent", "lower", "leading", "consideration"),
    KPISpec("engagement_rate", "Taux d'engagement", "Engagement rate",
            "engagements / reach * 100", "percent", "higher", "leading", "awareness"),
    KPISpec("open_rate", "Taux d'ouverture", "Open rate",
            "emails_opened / emails_sent * 100", "percent", "higher", "leading", "consideration"),
    KPISpec("email_ctr", "Taux de clic e-mail", "Email click-through rate",
            "email_clicks / emails_sent * 100", "percent", "higher", "leading", "consideration"),
    KPISpec("lead_conversion_rate", "Taux de transformation des prospects", "Lead conversion rate",
            "new_customers / leads * 100", "percent", "higher", "lagging", "conversion"),
    KPISpec("cart_abandonment_rate", "Taux d'abandon de panier", "Cart abandonment rate",
            "(carts - orders) / carts * 100", "percent", "lower", "leading", "conversion"),
    KPISpec("aov", "Panier moyen", "Average order value",
            "revenue / orders", "money", "higher", "lagging", "conversion", followed=True),
    KPISpec("retention_rate", "Taux de rétention", "Retention rate",
            "(customers_end - new_customers) / customers_start * 100", "percent", "higher", "lagging", "loyalty"),
    KPISpec("churn_rate", "Taux d'attrition", "Churn rate",
            "100 - retention_rate", "percent", "lower", "lagging", "loyalty"),
    KPISpec("arpu", "Revenu moyen par client (ARPU)", "Average revenue per user (ARPU)",
            "revenue / ((customers_start + customers_end) / 2)", "money", "higher", "lagging", "loyalty"),
    KPISpec("clv", "Valeur vie client (CLV)", "Customer lifetime value (CLV)",
            "arpu / (churn_rate / 100)", "money", "higher", "lagging", "loyalty"),
    KPISpec("ltv_cac", "Ratio CLV / CAC", "LTV to CAC ratio",
            "clv / cac", "ratio", "higher", "lagging", "loyalty"),
    KPISpec("cac_payback_months", "Délai de récupération du CAC", "CAC payback period",
            "cac / (arpu / months)", "months", "lower", "lagging", "loyalty", decimals=1),
    KPISpec("nps", "Net Promoter Score (NPS)", "Net Promoter Score (NPS)",
            "(promoters - detractors) / (promoters + passives + detractors) * 100", "points", "higher", "lagging", "advocacy", decimals=0),
)  # fmt: skip
