"""The static texts of 投保咨询: the right-hand panel (what short-term export credit insurance
is) and the 个人信息处理说明 under the form.

Plain text, no Streamlit, so the wording can be reviewed (and tested) on its own.
"""

from __future__ import annotations

HOTLINE = "029-95198"

SECTIONS: list[tuple[str, str]] = [
    (
        "出口信用保险",
        "出口信用保险是国家为支持对外贸易、保障出口收汇安全而设立的政策性保险。"
        "出口企业以赊销（如 OA、D/A、D/P）或信用证方式出口货物或服务后，"
        "因买方或所在国家（地区）的原因无法收回货款时，由保险人按合同约定赔偿损失。",
    ),
    (
        "四大功能",
        "- **风险保障**：承保收汇风险，出险后按约定比例赔付损失\n"
        "- **融资便利**：凭保单及赔款权益转让，更容易获得银行贸易融资\n"
        "- **市场开拓**：敢于采用更有竞争力的结算方式，拓展新市场、新客户\n"
        "- **信息服务**：提供买方资信调查、国别风险分析和应收账款管理咨询",
    ),
    (
        "承担的风险",
        "- **商业风险**：买方破产或无力偿付、买方拖欠货款、买方拒绝接收货物\n"
        "- **政治风险**：买方所在国家（地区）禁止或限制汇兑、颁布进口禁令、"
        "撤销进口许可、发生战争或动乱等",
    ),
    (
        "可选择的产品/服务",
        "- 短期出口信用保险（综合保险、统保保险、特定买方/特定合同保险）\n"
        "- 小微企业信保易\n"
        "- 买方资信调查与国别风险报告\n"
        "- 保单融资与应收账款管理服务",
    ),
]


def privacy_notice(retention_days: int) -> str:
    """个人信息处理说明 under the form: what is collected, why, how long it is kept, who sees it,
    and whom to call. ``retention_days`` is ``DASHBOARD_RETENTION_DAYS`` (0: no fixed period)."""
    if retention_days > 0:
        kept = (
            f"已完成的申请自完成之日起保存 {retention_days} 天，期满后联系人和联系方式将被匿名化；"
            f"{retention_days} 天未修改的暂存申请将被删除。"
        )
    else:
        kept = "申请信息在业务办理所需的期限内保存，期满后联系人和联系方式将被匿名化。"
    return (
        "我们收集公司名称、注册地址、联系人、联系手机、联系固话和联系邮箱，"
        "仅用于处理您的询保申请并与您联系，不用于其他目的。"
        "完整的联系方式只向负责处理该申请的业务人员显示，每次查看和导出均有记录。"
        f"{kept}暂存的申请您可随时删除；如需查阅、更正或删除您的个人信息，"
        f"请拨打服务热线 {HOTLINE}。"
    )


def markdown() -> str:
    """The whole panel as Markdown: one heading per section, then the hotline."""
    parts = [f"##### {title}\n\n{body}" for title, body in SECTIONS]
    parts.append(f"##### 24小时服务热线\n\n**{HOTLINE}**")
    return "\n\n".join(parts)
