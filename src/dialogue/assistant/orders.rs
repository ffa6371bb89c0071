//! Answers about one order: status, shipping, address, cancelling, returns and refunds. Each
//! returns the reply and what happens next (nothing, a confirmation to ask, a transfer).

use jiff::civil::Date;

use super::wording::{day, items, money, pick};
use crate::dialogue::understand::intent::Intent;
use crate::shop::{Lang, Order, OrderStatus, Return, ReturnStatus, Shipment, ShipmentStatus, Shop};

/// What an order answer leads to.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Next {
    Done,
    ConfirmCancel,
    AskReason,
    ConfirmReturn(String),
    /// Offer a person for this skill (the bot cannot do it).
    OfferPerson(&'static str),
    /// Hand over now.
    Transfer(&'static str),
}

pub(super) struct Answer {
    pub text: String,
    pub next: Next,
}

fn answer(text: String, next: Next) -> Answer {
    Answer { text, next }
}

/// The answer to `intent` about `order`. `reason` is the return reason heard so far.
pub(super) fn about(
    intent: Intent,
    order: &Order,
    reason: Option<&str>,
    shop: &Shop,
    lang: Lang,
    today: Date,
) -> Answer {
    let n = &order.number;
    let what = items(lang, order, shop);
    let shipment = shop.shipment(n);
    match intent {
        Intent::ShippingStatus => shipping(order, shipment, lang, today),
        Intent::ChangeAddress => {
            if order.status.before_shipping() {
                answer(
                    pick(
                        lang,
                        format!(
                            "Order {n} has not shipped yet, so the address can still change. I'm connecting you with a colleague who will take the new address."
                        ),
                        format!(
                            "订单{n}还没有发货，地址还可以改。我为您转接同事，由他记录新地址。"
                        ),
                    ),
                    Next::Transfer("orders"),
                )
            } else {
                answer(
                    pick(
                        lang,
                        format!(
                            "Order {n} has already shipped, so I can't change its address. Would you like me to connect you with a person?"
                        ),
                        format!("订单{n}已经发货，地址改不了了。需要为您转接人工客服吗？"),
                    ),
                    Next::OfferPerson("orders"),
                )
            }
        }
        Intent::CancelOrder => match order.status {
            OrderStatus::Pending | OrderStatus::Paid => answer(
                pick(
                    lang,
                    format!(
                        "Order {n} is {what} for {}. Shall I cancel it? Please say yes or no.",
                        money(lang, order.total, &order.currency)
                    ),
                    format!(
                        "订单{n}是{what}，金额{}。确定要取消吗？请说是或者不是。",
                        money(lang, order.total, &order.currency)
                    ),
                ),
                Next::ConfirmCancel,
            ),
            OrderStatus::Cancelled => answer(
                pick(
                    lang,
                    format!("Order {n} is already cancelled."),
                    format!("订单{n}已经取消了。"),
                ),
                Next::Done,
            ),
            _ => {
                let window = shop.return_window_days(lang);
                answer(
                    pick(
                        lang,
                        format!(
                            "Order {n} has already shipped, so it can't be cancelled. When it arrives you can return it within {window} days."
                        ),
                        format!("订单{n}已经发货，不能取消了。收到以后{window}天内可以退货。"),
                    ),
                    Next::Done,
                )
            }
        },
        Intent::ReturnRequest => returns(order, shipment, reason, shop, lang, today),
        Intent::RefundStatus => refund(order, shop, lang, today),
        _ => status(order, shipment, &what, lang, today),
    }
}

fn status(
    order: &Order,
    shipment: Option<&Shipment>,
    what: &str,
    lang: Lang,
    today: Date,
) -> Answer {
    let n = &order.number;
    let placed = day(lang, order.placed_at, today);
    let text = match order.status {
        OrderStatus::Pending => pick(
            lang,
            format!("Order {n}, {what}, was placed {placed} and is waiting for payment."),
            format!("订单{n}，{what}，{placed}下单，正在等待付款。"),
        ),
        OrderStatus::Paid => pick(
            lang,
            format!("Order {n}, {what}, is paid and being prepared. It has not shipped yet."),
            format!("订单{n}，{what}，已付款，正在备货，还没有发货。"),
        ),
        OrderStatus::Shipped => {
            return shipping(order, shipment, lang, today);
        }
        OrderStatus::Delivered => {
            let when = delivered_on(shipment).map(|d| day(lang, d, today));
            pick(
                lang,
                format!(
                    "Order {n}, {what}, was delivered{}.",
                    when.as_ref().map(|w| format!(" {w}")).unwrap_or_default()
                ),
                format!("订单{n}，{what}，已经{}送达。", when.unwrap_or_default()),
            )
        }
        OrderStatus::Cancelled => pick(
            lang,
            format!("Order {n}, {what}, was cancelled."),
            format!("订单{n}，{what}，已经取消。"),
        ),
        OrderStatus::Returned => pick(
            lang,
            format!("Order {n}, {what}, was returned."),
            format!("订单{n}，{what}，已经退货。"),
        ),
    };
    answer(text, Next::Done)
}

fn shipping(order: &Order, shipment: Option<&Shipment>, lang: Lang, today: Date) -> Answer {
    let n = &order.number;
    let Some(s) = shipment else {
        let text = if order.status == OrderStatus::Cancelled {
            pick(
                lang,
                format!("Order {n} was cancelled, so it will not ship."),
                format!("订单{n}已经取消，不会发货。"),
            )
        } else {
            pick(
                lang,
                format!(
                    "Order {n} has not shipped yet. Orders usually ship within one business day."
                ),
                format!("订单{n}还没有发货，一般一个工作日内发出。"),
            )
        };
        return answer(text, Next::Done);
    };
    let tail: String = s
        .tracking_number
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let eta = s.eta.map(|d| day(lang, d, today));
    let latest = s.events.last();
    let text = match s.status {
        ShipmentStatus::Delivered => pick(
            lang,
            format!(
                "Order {n} was delivered by {}{}.",
                s.carrier,
                eta.as_ref().map(|e| format!(" {e}")).unwrap_or_default()
            ),
            format!("订单{n}已由{}{}送达。", s.carrier, eta.unwrap_or_default()),
        ),
        ShipmentStatus::Exception => {
            let problem = latest.map(|e| e.description.clone()).unwrap_or_default();
            return answer(
                pick(
                    lang,
                    format!(
                        "Order {n} is held up with {}: {problem} Would you like me to connect you with a person to sort it out?",
                        s.carrier
                    ),
                    format!(
                        "订单{n}在{}那里遇到问题：{problem} 需要为您转接人工客服处理吗？",
                        s.carrier
                    ),
                ),
                Next::OfferPerson("orders"),
            );
        }
        ShipmentStatus::OutForDelivery => pick(
            lang,
            format!(
                "Good news: order {n} is out for delivery with {} and should arrive today.",
                s.carrier
            ),
            format!("订单{n}正在由{}派送，今天就能送到。", s.carrier),
        ),
        ShipmentStatus::LabelCreated => pick(
            lang,
            format!(
                "Order {n} is packed and waiting for {} to collect it.{}",
                s.carrier,
                eta.as_ref()
                    .map(|e| format!(" It should arrive {e}."))
                    .unwrap_or_default()
            ),
            format!(
                "订单{n}已经打包，等待{}揽收。{}",
                s.carrier,
                eta.map(|e| format!("预计{e}送达。")).unwrap_or_default()
            ),
        ),
        ShipmentStatus::InTransit => {
            let place = latest
                .filter(|e| !e.location.is_empty())
                .map(|e| e.location.clone());
            pick(
                lang,
                format!(
                    "Order {n} has shipped and is on its way with {}{}.{} The tracking number ends in {tail}.",
                    s.carrier,
                    place
                        .as_ref()
                        .map(|p| format!(", last seen in {p}"))
                        .unwrap_or_default(),
                    eta.as_ref()
                        .map(|e| format!(" It should arrive {e}."))
                        .unwrap_or_default()
                ),
                format!(
                    "订单{n}已经发货，{}正在运输{}。{}运单号尾号{tail}。",
                    s.carrier,
                    place
                        .as_ref()
                        .map(|p| format!("，最新位置在{p}"))
                        .unwrap_or_default(),
                    eta.as_ref()
                        .map(|e| format!("预计{e}送达。"))
                        .unwrap_or_default()
                ),
            )
        }
    };
    answer(text, Next::Done)
}

fn delivered_on(shipment: Option<&Shipment>) -> Option<Date> {
    let s = shipment?;
    s.events
        .iter()
        .rev()
        .find(|e| e.status == "delivered")
        .map(|e| e.at.to_zoned(jiff::tz::TimeZone::UTC).date())
        .or(s.eta)
}

fn returns(
    order: &Order,
    shipment: Option<&Shipment>,
    reason: Option<&str>,
    shop: &Shop,
    lang: Lang,
    today: Date,
) -> Answer {
    let n = &order.number;
    if let Some(open) = shop.returns_of(n).last() {
        return answer(return_state(open, shop, lang, today), Next::Done);
    }
    let window = shop.return_window_days(lang);
    match order.status {
        OrderStatus::Delivered => {}
        OrderStatus::Shipped | OrderStatus::Paid | OrderStatus::Pending => {
            return answer(
                pick(
                    lang,
                    format!(
                        "Order {n} hasn't been delivered yet. Once it arrives, you can return it within {window} days."
                    ),
                    format!("订单{n}还没有送达。收到以后{window}天内可以退货。"),
                ),
                Next::Done,
            );
        }
        OrderStatus::Cancelled | OrderStatus::Returned => {
            return answer(
                pick(
                    lang,
                    format!(
                        "Order {n} was {}, so there is nothing to return.",
                        order.status.as_str()
                    ),
                    format!(
                        "订单{n}已经{}，不需要退货。",
                        if order.status == OrderStatus::Cancelled {
                            "取消"
                        } else {
                            "退货"
                        }
                    ),
                ),
                Next::Done,
            );
        }
    }
    let delivered = delivered_on(shipment).unwrap_or(order.placed_at);
    let age = (today - delivered).get_days();
    if age > window as i32 {
        return answer(
            pick(
                lang,
                format!(
                    "Order {n} was delivered {}, more than {window} days ago, so it is outside our return window. Would you like me to connect you with a person?",
                    day(lang, delivered, today)
                ),
                format!(
                    "订单{n}是{}送达的，已经超过{window}天的退货期限。需要为您转接人工客服吗？",
                    day(lang, delivered, today)
                ),
            ),
            Next::OfferPerson("returns"),
        );
    }
    let what = items(lang, order, shop);
    match reason {
        None => answer(
            pick(
                lang,
                format!(
                    "I can book a return for order {n}, {what}. What is the reason for the return?"
                ),
                format!("可以为订单{n}，{what}，办理退货。请问退货原因是什么？"),
            ),
            Next::AskReason,
        ),
        Some(reason) => answer(
            pick(
                lang,
                format!(
                    "I'll book a return for order {n}, {what}, reason: {reason}. Shall I go ahead? Please say yes or no."
                ),
                format!(
                    "我将为订单{n}，{what}，办理退货，原因：{reason}。确认办理吗？请说是或者不是。"
                ),
            ),
            Next::ConfirmReturn(reason.to_string()),
        ),
    }
}

fn return_state(r: &Return, shop: &Shop, lang: Lang, today: Date) -> String {
    let days = shop.refund_days(lang);
    let currency = shop
        .order(&r.order_number)
        .map_or("USD", |o| o.currency.as_str());
    match r.status {
        ReturnStatus::Refunded => {
            let amount = r
                .refund_amount
                .map(|a| money(lang, a, currency))
                .unwrap_or_default();
            let when = r
                .refunded_at
                .map(|d| day(lang, d, today))
                .unwrap_or_default();
            pick(
                lang,
                format!(
                    "The refund of {amount} for order {} was issued {when}. It goes back to your original payment method.",
                    r.order_number
                ),
                format!(
                    "订单{}的退款{amount}已于{when}退回原支付方式。",
                    r.order_number
                ),
            )
        }
        ReturnStatus::Received => pick(
            lang,
            format!(
                "We have received your return for order {}. The refund will reach you within {days} business days.",
                r.order_number
            ),
            format!(
                "订单{}的退货我们已经收到，退款会在{days}个工作日内到账。",
                r.order_number
            ),
        ),
        ReturnStatus::Requested | ReturnStatus::Approved => pick(
            lang,
            format!(
                "Your return {} for order {} is {}. We refund within {days} business days after the item reaches us.",
                r.rma,
                r.order_number,
                r.status.as_str()
            ),
            format!(
                "订单{}的退货{}已{}。我们收到商品后{days}个工作日内退款。",
                r.order_number,
                r.rma,
                if r.status == ReturnStatus::Approved {
                    "批准"
                } else {
                    "受理"
                }
            ),
        ),
        ReturnStatus::Rejected => pick(
            lang,
            format!(
                "The return {} for order {} was not accepted. A colleague can explain why; would you like me to connect you?",
                r.rma, r.order_number
            ),
            format!(
                "订单{}的退货{}没有通过。需要为您转接人工客服说明原因吗？",
                r.order_number, r.rma
            ),
        ),
    }
}

fn refund(order: &Order, shop: &Shop, lang: Lang, today: Date) -> Answer {
    let n = &order.number;
    if let Some(r) = shop.returns_of(n).last() {
        let next = if r.status == ReturnStatus::Rejected {
            Next::OfferPerson("returns")
        } else {
            Next::Done
        };
        return answer(return_state(r, shop, lang, today), next);
    }
    let days = shop.refund_days(lang);
    let text = if order.status == OrderStatus::Cancelled {
        pick(
            lang,
            format!(
                "Order {n} was cancelled. The refund of {} goes back to your original payment method within {days} business days.",
                money(lang, order.total, &order.currency)
            ),
            format!(
                "订单{n}已经取消，{}会在{days}个工作日内退回原支付方式。",
                money(lang, order.total, &order.currency)
            ),
        )
    } else {
        pick(
            lang,
            format!("There is no return or refund on order {n}."),
            format!("订单{n}没有退货或退款记录。"),
        )
    };
    answer(text, Next::Done)
}
