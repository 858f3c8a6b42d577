"""The test kit, apart from the product (`recon`): what makes data and checks answers.

- `recon_testkit.generate`: messy demo raw files, seeds and an answer key (`recon generate`,
  `recon demo`, the tests, the bench).
- `recon_testkit.reference`: an independent implementation of the contract's rules in
  Python, which the generator's answer key comes from; the tests compare the dbt marts with it.
- `recon_testkit.evaluate`: dbt-labs' dbt-project-evaluator on a scratch copy of the project
  (`make evaluate`).
"""
