import { render } from 'preact';
import './styles.css';
import { App } from './App';
import { restore } from './api';

render(<App />, document.getElementById('app')!);
void restore();
