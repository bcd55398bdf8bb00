//! The operations runbook as one program (a first cut; payouts and audit follow).

use std::str::FromStr;

use mlas::{
    AffiliateId, Currency, Decimal, Engine, Money, NewAffiliate, NewSale, RuleSpec, SaleId, Scope,
};

fn main() -> Result<(), mlas::Error> {
    let engine = Engine::in_memory();
    let scope = Scope::new("org-123", "runbook")?;

    let mut top = NewAffiliate::new("Ada Top", "ada@example.com", Decimal::from(10));
    top.id = Some(AffiliateId::new("aff-789")?);
    engine.create_affiliate(&scope, top)?;
    let mut mid = NewAffiliate::new("Jane Upline", "jane@example.com", Decimal::from(10));
    mid.id = Some(AffiliateId::new("aff-456")?);
    mid.sponsor = Some(AffiliateId::new("aff-789")?);
    engine.create_affiliate(&scope, mid)?;
    let mut seller = NewAffiliate::new("John Affiliate", "john@example.com", Decimal::from(10));
    seller.id = Some(AffiliateId::new("aff-123")?);
    seller.sponsor = Some(AffiliateId::new("aff-456")?);
    engine.create_affiliate(&scope, seller)?;

    let rule = RuleSpec::percentages(
        "three levels",
        &[
            Decimal::from(10),
            Decimal::from(5),
            Decimal::from_str("2.5").unwrap_or_default(),
        ],
    );
    engine.create_rule(&scope, None, rule)?;

    let usd = Currency::parse("USD")?;
    let sale = NewSale::new(
        SaleId::new("sale-456")?,
        Money::parse("1000.00", usd, "amount")?,
        engine.now(),
        AffiliateId::new("aff-123")?,
    );
    let outcome = engine.record_sale(&scope, sale)?;
    for c in &outcome.commissions {
        println!(
            "{:<10} level {}  {:>12}",
            c.affiliate,
            c.chain_level,
            c.amount.to_string()
        );
    }
    print!("{}", engine.explain(&scope, &outcome.sale.id)?.to_text());
    Ok(())
}
